"""RedisBroker factory for the shared broker suite: a unique namespace per broker on the
Redis at 127.0.0.1:6379, whose keys are all deleted (with SCAN) on exit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from taskq.brokers.redis import RedisBroker
from taskq.middleware import Middleware

REDIS_URL = "redis://127.0.0.1:6379/0"


def unique_namespace() -> str:
    """A namespace no other test uses."""
    return f"taskq-test-{uuid.uuid4().hex[:12]}"


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    """Delete every ``{namespace}:*`` key (SCAN, never KEYS)."""
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


@contextmanager
def make_broker(
    middleware: list[Middleware] | None = None, **options: Any
) -> Iterator[RedisBroker]:
    options.setdefault("namespace", unique_namespace())
    broker = RedisBroker(url=REDIS_URL, middleware=middleware, **options)
    try:
        broker.client.ping()
    except redis.ConnectionError as e:
        import pytest

        pytest.skip(f"Redis unavailable at {REDIS_URL}: {e}")
    try:
        yield broker
    finally:
        broker.close()
        client = redis.Redis.from_url(REDIS_URL)
        try:
            delete_namespace(client, broker.namespace)
        finally:
            client.close()


def push_raw(broker: RedisBroker, queue_name: str, payload: bytes) -> None:
    """Store ``payload`` the way any producer would: HSET the payload, RPUSH its id."""
    message_id = str(uuid.uuid4())
    broker.client.hset(f"{broker.namespace}:{queue_name}.msgs", message_id, payload)
    broker.client.rpush(f"{broker.namespace}:{queue_name}", message_id)
