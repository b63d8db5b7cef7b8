"""The application ``bench.producer_memory`` enqueues to and runs workers on.

Everything comes from the environment: ``MEM_BROKER`` (``redis``, ``rabbitmq``, ``sqlite``),
``MEM_URL`` (Redis, RabbitMQ), ``MEM_NAMESPACE`` (Redis), ``MEM_SQLITE_PATH`` (SQLite) and
``MEM_QUEUE``, the queue of the one actor, ``noop``.
"""

from __future__ import annotations

import os

import taskq
from taskq.broker import Broker


def build_broker() -> Broker:
    """The broker the environment names."""
    kind = os.environ["MEM_BROKER"]
    if kind == "redis":
        from taskq.brokers.redis import RedisBroker

        return RedisBroker(url=os.environ["MEM_URL"], namespace=os.environ["MEM_NAMESPACE"])
    if kind == "rabbitmq":
        from taskq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=os.environ["MEM_URL"], confirm_delivery=True)
    if kind == "sqlite":
        from taskq.brokers.sqlite import SQLiteBroker

        return SQLiteBroker(os.environ["MEM_SQLITE_PATH"])
    raise ValueError(f"MEM_BROKER must be redis, rabbitmq or sqlite, got {kind!r}")


broker = build_broker()
taskq.set_broker(broker)


@taskq.actor(queue_name=os.environ["MEM_QUEUE"], max_retries=0)
def noop(i: int) -> None:
    """Does nothing: the benchmark measures memory, not work."""
