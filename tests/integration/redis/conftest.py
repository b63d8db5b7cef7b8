"""Fixtures for the Redis broker tests: an isolated broker, a raw client, a Memcached check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import taskq
from taskq.broker import _reset_global_broker
from taskq.brokers.redis import RedisBroker

from ...factories.redis import REDIS_URL, delete_namespace, make_broker, unique_namespace

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``redis``, so ``-m "not redis"`` deselects them (pytest
    reads ``pytestmark`` only in test modules, never in a conftest)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.redis)


@pytest.fixture
def raw_redis() -> Iterator[redis.Redis]:
    """A plain redis-py client, as another producer would use."""
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def redis_broker() -> Iterator[RedisBroker]:
    """An isolated RedisBroker (own namespace) set as the global broker."""
    with make_broker(heartbeat_timeout=2000) as broker:
        taskq.set_broker(broker)
        try:
            yield broker
        finally:
            _reset_global_broker()


@pytest.fixture
def namespace(raw_redis: redis.Redis) -> Iterator[str]:
    """A fresh namespace whose keys are deleted after the test."""
    ns = unique_namespace()
    yield ns
    delete_namespace(raw_redis, ns)


@pytest.fixture
def brokers() -> Iterator[Any]:
    """``brokers(**options)`` makes extra RedisBrokers, closed after the test."""
    made: list[RedisBroker] = []

    def make(**options: Any) -> RedisBroker:
        broker = RedisBroker(url=REDIS_URL, **options)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.close()
