"""RabbitmqBroker factory for the shared broker suite: isolated by unique queue names.

Every queue the broker declared (``q``, ``q.DQ`` and ``q.XQ``) is deleted on exit, from every
server the broker may have connected to.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pika

from taskq.brokers.rabbitmq import RabbitmqBroker
from taskq.common import dq_name, xq_name
from taskq.middleware import Middleware

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def delete_queues(broker: RabbitmqBroker) -> None:
    """Delete the broker's queues with their delay and dead-letter queues on every target."""
    queue_names = broker.get_declared_queues()
    if not queue_names:
        return
    for parameters in broker.targets.parameters:
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            for name in sorted(queue_names):
                for queue in (name, dq_name(name), xq_name(name)):
                    channel.queue_delete(queue)
        finally:
            connection.close()


@contextmanager
def make_broker(
    middleware: list[Middleware] | None = None, **kwargs: Any
) -> Iterator[RabbitmqBroker]:
    """A broker on the shared server (or on ``url=`` / ``parameters=`` when given)."""
    if "parameters" not in kwargs:
        kwargs.setdefault("url", RABBITMQ_URL)
    broker = RabbitmqBroker(middleware=middleware, **kwargs)
    try:
        yield broker
    finally:
        broker.close()
        delete_queues(broker)


def push_raw(broker: RabbitmqBroker, queue_name: str, payload: bytes) -> None:
    broker.declare_queue(queue_name, ensure=True)
    broker.channel.basic_publish(
        exchange="",
        routing_key=queue_name,
        body=payload,
        properties=pika.BasicProperties(delivery_mode=2),
    )


def rabbitmqctl(*args: str, node: str | None = None, timeout: float = 60) -> str:
    """Run ``rabbitmqctl`` (against ``node`` when given); raise on a non-zero exit."""
    command = ["rabbitmqctl", *(["-n", node] if node else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


@contextmanager
def temporary_vhost() -> Iterator[str]:
    """A fresh vhost that guest may use, deleted on exit (each rabbitmqctl call takes ~1 s)."""
    name = f"taskq-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        rabbitmqctl("delete_vhost", name)
