"""The cold-start drain app: one actor that INCRs a Redis counter, on either framework.

Started as each system's own worker command (``dramatiq bench.apps.tasks -p 2 -t 8`` and
``taskq worker bench.apps.tasks -p 2 -t 8``) on a pre-filled queue. Nothing else is configured:
each framework runs its default middleware stack, as a user's first ``tasks.py`` would.
"""

from __future__ import annotations

import importlib
import os
import time

import redis

from . import settings

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "taskq")
fw = importlib.import_module(FRAMEWORK)
#: The Redis key each task increments; the harness reads it to time the drain.
COUNTER_KEY = f"{settings.NAMESPACE}:counter"


def _make_broker():  # noqa: ANN202 - either framework's Broker
    if settings.BROKER == "rabbitmq":
        module = importlib.import_module(f"{FRAMEWORK}.brokers.rabbitmq")
        return module.RabbitmqBroker(url=settings.AMQP_URL)
    if settings.BROKER == "sqlite":
        module = importlib.import_module(f"{FRAMEWORK}.brokers.sqlite")
        return module.SQLiteBroker(path=settings.SQLITE_PATH)
    module = importlib.import_module(f"{FRAMEWORK}.brokers.redis")
    return module.RedisBroker(url=settings.REDIS_URL, namespace=settings.NAMESPACE)


broker = _make_broker()
fw.set_broker(broker)
client = redis.Redis.from_url(settings.REDIS_URL)


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def incr() -> None:
    client.incr(COUNTER_KEY)


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def latency(sent_at: float) -> None:
    settings.record_latency(client, sent_at, time.time())


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def hold() -> None:
    """A task slow enough that a backlog stays put while the memory tables are measured."""
    time.sleep(2)
