"""The benchmark actors, defined once and loaded on either framework.

``BENCH_FRAMEWORK`` is ``taskq`` or ``dramatiq``; since taskq is a drop-in, the very same
code runs on both and only the imported package differs.
"""

from __future__ import annotations

import importlib
import os
import time

import redis

from . import settings

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "taskq")
fw = importlib.import_module(FRAMEWORK)


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
results = importlib.import_module(f"{FRAMEWORK}.results")
backends = importlib.import_module(f"{FRAMEWORK}.results.backends")
broker.add_middleware(
    results.Results(
        backend=backends.RedisBackend(url=settings.REDIS_URL, namespace=settings.NAMESPACE + "-r")
    )
)
fw.set_broker(broker)
client = redis.Redis.from_url(settings.REDIS_URL)


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def noop() -> None:
    pass


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def sleep_ms(ms: float) -> None:
    time.sleep(ms / 1000)


@fw.actor(queue_name=settings.QUEUE, max_retries=0)
def latency(sent_at: float) -> None:
    settings.record_latency(client, sent_at, time.time())


@fw.actor(queue_name=settings.QUEUE, max_retries=0, store_results=True)
def add(x: int, y: int) -> int:
    return x + y
