"""Rate limiters on the real Redis and Memcached servers (unique keys, cleaned up after)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from taskq.rate_limits import (
    Barrier,
    BucketRateLimiter,
    ConcurrentRateLimiter,
    RateLimitExceeded,
    WindowRateLimiter,
)

from ...helpers import wait_for

REDIS_URL = "redis://127.0.0.1:6379/0"
MEMCACHED_SERVER = "127.0.0.1:11211"


class Backend:
    """A real backend plus the keys a test used, so they can be deleted afterwards."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.prefix = f"taskq-test-{uuid.uuid4().hex[:12]}"
        self.keys: list[str] = []
        if kind == "redis":
            pytest.importorskip("redis")
            from taskq.rate_limits.backends import RedisBackend

            self.backend = RedisBackend(url=REDIS_URL)
        else:
            pytest.importorskip("pymemcache")
            from taskq.rate_limits.backends import MemcachedBackend

            self.backend = MemcachedBackend(servers=[MEMCACHED_SERVER])

    def key(self, name: str) -> str:
        key = f"{self.prefix}-{name}"
        self.keys.append(key)
        return key

    def cleanup(self) -> None:
        if self.kind == "redis":
            found = list(self.backend.client.scan_iter(match=f"{self.prefix}*"))
            if found:
                self.backend.client.delete(*found)
        else:
            with self.backend.pool.reserve(block=True) as client:
                for key in self.keys:
                    for suffix in ("", "@events"):
                        client.delete(key + suffix)


@pytest.fixture(params=["redis", "memcached"])
def real(request: pytest.FixtureRequest) -> Iterator[Backend]:
    real = Backend(request.param)
    try:
        yield real
    finally:
        real.cleanup()


pytestmark = [pytest.mark.redis, pytest.mark.memcached]


def test_add_only_sets_missing_keys(real):
    key = real.key("add")
    assert real.backend.add(key, 1, 10_000) is True
    assert real.backend.add(key, 1, 10_000) is False


def test_incr_and_decr_respect_their_bounds(real):
    key = real.key("bounds")
    backend = real.backend
    assert backend.incr(key, 2, maximum=3, ttl=10_000) is True
    assert backend.incr(key, 2, maximum=3, ttl=10_000) is False
    assert backend.incr(key, 1, maximum=3, ttl=10_000) is True
    assert backend.decr(key, 3, minimum=0, ttl=10_000) is True
    assert backend.decr(key, 1, minimum=0, ttl=10_000) is False


def test_concurrent_limiter_holds_under_contention(real):
    limiter = ConcurrentRateLimiter(real.backend, real.key("mutex"), limit=2)
    inside, peak, lock = [0], [0], threading.Lock()

    def hammer():
        for _ in range(30):
            with limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    with lock:
                        inside[0] += 1
                        peak[0] = max(peak[0], inside[0])
                    with lock:
                        inside[0] -= 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert 1 <= peak[0] <= 2
    with limiter.acquire(), limiter.acquire(), limiter.acquire(raise_on_failure=False) as third:
        assert third is False  # every slot was given back, and the limit still holds


def test_a_concurrent_slot_expires_with_its_ttl(real):
    limiter = ConcurrentRateLimiter(real.backend, real.key("ttl"), limit=1, ttl=1000)
    assert limiter._acquire()
    assert not limiter._acquire()
    wait_for(limiter._acquire, timeout=10, interval=0.1, message="the slot to expire")


def test_bucket_limiter(real):
    key = real.key("bucket")
    limiter = BucketRateLimiter(real.backend, key, limit=2, bucket=86_400_000)
    results = []
    for _ in range(3):
        with limiter.acquire(raise_on_failure=False) as acquired:
            results.append(acquired)
    assert results == [True, True, False]
    real.keys.extend(f"{key}@{n}" for n in _bucket_starts(86_400_000))


def test_window_limiter(real):
    key = real.key("window")
    limiter = WindowRateLimiter(real.backend, key, limit=2, window=30)
    results = []
    for _ in range(3):
        with limiter.acquire(raise_on_failure=False) as acquired:
            results.append(acquired)
    assert results == [True, True, False]
    real.keys.extend(limiter._window_keys())


def test_barrier_non_blocking_and_blocking(real):
    barrier = Barrier(real.backend, real.key("barrier"), ttl=10_000)
    assert barrier.create(parties=2) is True
    released = []
    waiter = threading.Thread(target=lambda: released.append(barrier.wait(timeout=10_000)))
    waiter.start()
    wait_for(lambda: not waiter.is_alive() or _arrived(real, barrier), message="first party")
    assert barrier.wait(block=False) is True
    waiter.join(15)
    assert released == [True]


def test_barrier_wait_times_out(real):
    barrier = Barrier(real.backend, real.key("lonely"), ttl=10_000)
    barrier.create(parties=2)
    assert barrier.wait(timeout=200) is False


def test_parties_released_together_wake_within_milliseconds(real):
    barrier = Barrier(real.backend, real.key("together"), ttl=10_000)
    barrier.create(parties=3)
    woke: list[float] = []
    lock = threading.Lock()

    def party():
        assert barrier.wait(timeout=10_000)
        with lock:
            woke.append(time.monotonic())

    parties = [threading.Thread(target=party) for _ in range(3)]
    for thread in parties:
        thread.start()
    for thread in parties:
        thread.join(15)
    # Memcached cannot block on a key: waiters poll, at most 8 ms apart.
    assert len(woke) == 3 and max(woke) - min(woke) < 0.1


def test_memcached_limiters_take_dramatiqs_constructor():
    pytest.importorskip("pymemcache")
    from taskq.memcached import MemcachedOptionWarning
    from taskq.rate_limits.backends import MemcachedBackend

    with pytest.warns(MemcachedOptionWarning, match="binary"):
        backend = MemcachedBackend(servers=["127.0.0.1"], binary=True, behaviors={"cas": True})
    key = f"taskq-test-{uuid.uuid4().hex[:12]}-dramatiq-args"
    mutex = ConcurrentRateLimiter(backend, key, limit=1)
    try:
        with mutex.acquire(), mutex.acquire(raise_on_failure=False) as second:
            assert second is False
        with pytest.raises(RateLimitExceeded), mutex.acquire(), mutex.acquire():
            pass
    finally:
        with backend.pool.reserve(block=True) as client:
            client.delete(key)


def _arrived(real, barrier) -> bool:
    if real.kind == "redis":
        return real.backend.client.get(barrier.key) == b"1"
    with real.backend.pool.reserve(block=True) as client:
        return client.get(barrier.key) == 1


def test_a_mutex_is_shared_with_dramatiq_processes_on_redis():
    dramatiq_limits = pytest.importorskip("dramatiq.rate_limits")
    from dramatiq.rate_limits.backends import RedisBackend as DramatiqRedisBackend

    real = Backend("redis")
    try:
        key = real.key("shared")
        ours = ConcurrentRateLimiter(real.backend, key, limit=1)
        theirs = dramatiq_limits.ConcurrentRateLimiter(
            DramatiqRedisBackend(url=REDIS_URL), key, limit=1
        )
        with ours.acquire(), theirs.acquire(raise_on_failure=False) as acquired:
            assert acquired is False
        with theirs.acquire(), ours.acquire(raise_on_failure=False) as acquired:
            assert acquired is False
        with ours.acquire(raise_on_failure=False) as acquired:
            assert acquired is True
    finally:
        real.cleanup()


def _bucket_starts(bucket: int) -> list[int]:
    import time

    now = time.time_ns() // 1_000_000
    start = now - now % bucket
    return [start, start - bucket]
