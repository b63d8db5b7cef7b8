"""Rate limiters and barriers on the in-process StubBackend, and inside actors."""

from __future__ import annotations

import threading
import uuid

import pytest

import taskq
from taskq.rate_limits import (
    Barrier,
    BucketRateLimiter,
    ConcurrentRateLimiter,
    RateLimitExceeded,
    WindowRateLimiter,
)
from taskq.rate_limits.backends import StubBackend

from ..helpers import wait_for


@pytest.fixture
def backend():
    return StubBackend()


@pytest.fixture
def key():
    return f"limit-{uuid.uuid4().hex}"


def test_concurrent_limiter_allows_limit_holders_at_once(backend, key):
    limiter = ConcurrentRateLimiter(backend, key, limit=2)
    with limiter.acquire(), limiter.acquire():
        with pytest.raises(RateLimitExceeded, match=key):  # noqa: SIM117
            with limiter.acquire():
                pass
        with limiter.acquire(raise_on_failure=False) as acquired:
            assert acquired is False
    with limiter.acquire(raise_on_failure=False) as acquired:
        assert acquired is True


def test_a_mutex_is_released_when_the_block_raises(backend, key):
    mutex = ConcurrentRateLimiter(backend, key, limit=1)
    with pytest.raises(ZeroDivisionError), mutex.acquire():
        raise ZeroDivisionError("inside the block")
    with mutex.acquire(raise_on_failure=False) as acquired:
        assert acquired


def test_a_crashed_holder_frees_its_slot_after_the_ttl(backend, key):
    mutex = ConcurrentRateLimiter(backend, key, limit=1, ttl=50)
    assert mutex._acquire()  # never released, as if the holder died
    wait_for(mutex._acquire, timeout=5, message="the slot to expire")


def test_concurrent_limiter_under_threads_never_exceeds_its_limit(backend, key):
    limiter = ConcurrentRateLimiter(backend, key, limit=3)
    inside, peak, lock = [0], [0], threading.Lock()

    def hammer():
        for _ in range(200):
            with limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    with lock:
                        inside[0] += 1
                        peak[0] = max(peak[0], inside[0])
                    with lock:
                        inside[0] -= 1

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert 1 <= peak[0] <= 3


def test_bucket_limiter_allows_limit_per_bucket(backend, key):
    limiter = BucketRateLimiter(backend, key, limit=2, bucket=86_400_000)
    results = []
    for _ in range(4):
        with limiter.acquire(raise_on_failure=False) as acquired:
            results.append(acquired)
    assert results == [True, True, False, False]


def test_window_limiter_allows_limit_per_window(backend, key):
    limiter = WindowRateLimiter(backend, key, limit=3, window=30)
    results = []
    for _ in range(5):
        with limiter.acquire(raise_on_failure=False) as acquired:
            results.append(acquired)
    assert results == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda b: ConcurrentRateLimiter(b, "k", limit=0), "limit"),
        (lambda b: BucketRateLimiter(b, "k", bucket=0), "bucket"),
        (lambda b: WindowRateLimiter(b, "k", window=-1), "window"),
        (lambda b: ConcurrentRateLimiter(b, "", limit=1), "key"),
    ],
)
def test_bad_parameters_are_named(backend, factory, name):
    with pytest.raises(ValueError, match=name):
        factory(backend)


def test_barrier_releases_on_the_last_party(backend, key):
    barrier = Barrier(backend, key, ttl=10_000)
    assert barrier.create(parties=3) is True
    assert barrier.create(parties=3) is False
    assert [barrier.wait(block=False) for _ in range(3)] == [False, False, True]


def test_blocking_barrier_wakes_every_waiting_party(backend, key):
    barrier = Barrier(backend, key, ttl=10_000)
    barrier.create(parties=3)
    released = []
    waiters = [
        threading.Thread(target=lambda: released.append(barrier.wait(timeout=10_000)))
        for _ in range(2)
    ]
    for waiter in waiters:
        waiter.start()
    wait_for(lambda: backend.db[key][0] == 1, message="two parties arrived")
    assert barrier.wait() is True
    for waiter in waiters:
        waiter.join(10)
    assert released == [True, True]


def test_blocking_barrier_times_out(backend, key):
    barrier = Barrier(backend, key, ttl=10_000)
    barrier.create(parties=2)
    assert barrier.wait(timeout=50) is False


def test_an_actor_over_its_rate_limit_is_retried_until_a_slot_frees(
    stub_broker, queue_name, start_worker, backend, key
):
    mutex = ConcurrentRateLimiter(backend, key, limit=1)
    attempts = []

    @taskq.actor(queue_name=queue_name, store_results=True, min_backoff=10, max_backoff=20)
    def exclusive():
        attempts.append(1)
        with mutex.acquire():
            return "ran"

    start_worker(stub_broker)
    with mutex.acquire():
        message = exclusive.send()
        wait_for(lambda: len(attempts) >= 2, message="a retried attempt")
    assert message.get_result(block=True, timeout=10_000) == "ran"
    assert stub_broker.dead_letters == []
