"""Result backends on real servers: Redis (waits on the server) and Memcached (polls)."""

from __future__ import annotations

import threading
import uuid

import pytest

import taskq
from taskq.results import ResultFailure, ResultMissing, Results, ResultTimeout

from ...factories.redis import REDIS_URL, delete_namespace
from ...helpers import wait_for


def _memcached_backend(namespace):
    from pymemcache.client.base import Client

    from taskq.results.backends import MemcachedBackend

    try:
        Client(("127.0.0.1", 11211), connect_timeout=1, timeout=1).version()
    except OSError as e:
        pytest.skip(f"Memcached unavailable: {e}")
    return MemcachedBackend(namespace=namespace)


@pytest.fixture(params=["redis", "memcached"])
def backend(request, raw_redis):
    namespace = f"taskq-test-results-{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        from taskq.results.backends import RedisBackend

        yield RedisBackend(namespace=namespace, url=REDIS_URL)
        delete_namespace(raw_redis, namespace)
    else:
        yield _memcached_backend(namespace)


def test_store_and_get(backend):
    message = taskq.Message("q", "a")
    with pytest.raises(ResultMissing):
        backend.get_result(message)
    backend.store_result(message, {"answer": 42}, ttl=10_000)
    assert backend.get_result(message) == {"answer": 42}
    assert backend.get_result(message.message_id, block=True, timeout=100) == {"answer": 42}


def test_blocking_get_wakes_when_the_result_arrives(backend):
    message = taskq.Message("q", "a")
    got = []
    waiter = threading.Thread(
        target=lambda: got.append(backend.get_result(message, block=True, timeout=10_000))
    )
    waiter.start()
    backend.store_result(message, "late", ttl=10_000)
    waiter.join(15)
    assert got == ["late"]


def test_blocking_get_times_out(backend):
    with pytest.raises(ResultTimeout):
        backend.get_result(taskq.Message("q", "a"), block=True, timeout=200)


def test_results_expire_after_their_ttl(backend):
    message = taskq.Message("q", "a")
    backend.store_result(message, 1, ttl=300)
    assert backend.get_result(message) == 1

    def expired():
        try:
            backend.get_result(message)
        except ResultMissing:
            return True
        return False

    wait_for(expired, timeout=5, interval=0.05, message="result expired")


def test_increment_counts_atomically(backend):
    key = f"{backend.namespace}:counter"
    threads = [
        threading.Thread(target=lambda: [backend.increment(key, 1, 10_000) for _ in range(25)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert backend.increment(key, 0, 10_000) == 100


def test_worker_stores_results_and_failures(backend, redis_broker, queue_name, start_worker):
    redis_broker.add_middleware(Results(backend=backend))

    @taskq.actor(queue_name=queue_name, store_results=True, max_retries=0)
    def divide(a, b):
        return a / b

    start_worker(redis_broker)
    assert divide.send(6, 3).get_result(block=True, timeout=10_000) == 2
    with pytest.raises(ResultFailure) as failure:
        divide.send(1, 0).get_result(block=True, timeout=10_000)
    assert "ZeroDivisionError" in str(failure.value)
