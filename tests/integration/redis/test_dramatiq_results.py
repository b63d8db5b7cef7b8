"""Results shared with a real Dramatiq 2.x fleet through ``DramatiqRedisBackend``: each side
reads what the other's workers stored, values and failures, blocking and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import taskq
from taskq.results import ResultFailure, ResultMissing, Results
from taskq.results.backends import DramatiqRedisBackend

from ...factories.redis import REDIS_URL, delete_namespace, unique_namespace

dramatiq = pytest.importorskip("dramatiq")
from dramatiq.brokers.redis import RedisBroker as DramatiqRedisBroker  # noqa: E402
from dramatiq.results import ResultFailure as DramatiqResultFailure  # noqa: E402
from dramatiq.results import Results as DramatiqResults  # noqa: E402
from dramatiq.results.backends import RedisBackend as DramatiqResultsBackend  # noqa: E402


class SharedResults:
    """One results namespace seen by both frameworks; its keys are deleted afterwards."""

    def __init__(self, raw_redis: Any) -> None:
        self.raw_redis = raw_redis
        self.namespace = unique_namespace()
        self.taskq = DramatiqRedisBackend(namespace=self.namespace, url=REDIS_URL)
        self.dramatiq = DramatiqResultsBackend(namespace=self.namespace, url=REDIS_URL)
        self._keys: list[str] = []

    def forget_later(self, *messages: Any) -> None:
        """Delete the result keys of ``messages`` at teardown (digest keys carry no prefix)."""
        self._keys.extend(self.dramatiq.build_message_key(m) for m in messages)

    def close(self) -> None:
        if self._keys:
            self.raw_redis.delete(*self._keys)
        delete_namespace(self.raw_redis, self.namespace)


@pytest.fixture
def shared(raw_redis) -> Iterator[SharedResults]:
    results = SharedResults(raw_redis)
    yield results
    results.close()


@pytest.fixture
def dramatiq_broker(namespace, shared) -> Iterator[DramatiqRedisBroker]:
    broker = DramatiqRedisBroker(url=REDIS_URL, namespace=namespace)
    broker.add_middleware(DramatiqResults(backend=shared.dramatiq))
    yield broker
    broker.close()


@pytest.fixture
def taskq_broker(brokers, namespace, shared):
    broker = brokers(namespace=namespace, heartbeat_timeout=5000)
    broker.add_middleware(Results(backend=shared.taskq))
    return broker


def test_dramatiq_reads_what_a_taskq_worker_stored(
    dramatiq_broker, taskq_broker, shared, queue_name, start_worker
):
    @dramatiq.actor(queue_name=queue_name, broker=dramatiq_broker, store_results=True)
    def divide(x, y):
        raise AssertionError("the dramatiq side only sends")

    @taskq.actor(
        queue_name=queue_name,
        actor_name="divide",
        broker=taskq_broker,
        store_results=True,
        max_retries=0,
    )
    def divide_taskq(x, y):
        return x / y

    start_worker(taskq_broker)
    half, broken = divide.send(1, 2), divide.send(1, 0)
    shared.forget_later(half, broken)

    assert half.get_result(backend=shared.dramatiq, block=True, timeout=10_000) == 0.5
    with pytest.raises(DramatiqResultFailure) as failure:
        broken.get_result(backend=shared.dramatiq, block=True, timeout=10_000)
    assert (failure.value.orig_exc_type, failure.value.orig_exc_msg) == (
        "ZeroDivisionError",
        "division by zero",
    )


def test_taskq_reads_what_a_dramatiq_worker_stored(
    dramatiq_broker, taskq_broker, shared, queue_name
):
    @dramatiq.actor(queue_name=queue_name, broker=dramatiq_broker, store_results=True)
    def shout(word):
        if not word:
            raise ValueError("nothing to shout")
        return {"loud": word.upper()}

    @taskq.actor(queue_name=queue_name, actor_name="shout", broker=taskq_broker)
    def shout_taskq(word):
        raise AssertionError("the taskq side only sends")

    worker = dramatiq.Worker(dramatiq_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        loud = shout_taskq.send_with_options(args=("hey",), store_results=True)
        empty = shout_taskq.send_with_options(args=("",), store_results=True, max_retries=0)
        shared.forget_later(loud, empty)
        assert loud.get_result(backend=shared.taskq, block=True, timeout=10_000) == {"loud": "HEY"}
        with pytest.raises(ResultFailure) as failure:
            empty.get_result(backend=shared.taskq, block=True, timeout=10_000)
        assert (failure.value.orig_exc_type, failure.value.orig_exc_msg) == (
            "ValueError",
            "nothing to shout",
        )
        assert loud.get_result(backend=shared.taskq) == {"loud": "HEY"}  # read again, kept
    finally:
        worker.stop()


def test_keys_match_dramatiq_with_and_without_the_namespace_prefix(shared, raw_redis):
    message = taskq.Message("jobs.DQ", "ping")  # a delay queue's name keys like its queue's
    twin = dramatiq.Message(
        queue_name="jobs",
        actor_name="ping",
        args=(),
        kwargs={},
        options={},
        message_id=message.message_id,
    )
    assert shared.taskq.build_message_key(message) == shared.dramatiq.build_message_key(twin)

    plain = DramatiqRedisBackend(
        namespace=shared.namespace, url=REDIS_URL, use_namespace_prefix_keys=True
    )
    plain.store_result(message, [1, 2], ttl=10_000)
    key = f"{shared.namespace}:jobs:ping:{message.message_id}"
    assert raw_redis.lrange(key, 0, -1) == [b"[1,2]"]
    assert 0 < raw_redis.pttl(key) <= 10_000


def test_a_bare_message_id_is_refused_with_the_reason(shared):
    message = taskq.Message("jobs", "ping")
    with pytest.raises(TypeError, match="keys a result by queue, actor and message id"):
        shared.taskq.get_result(message.message_id)
    with pytest.raises(ResultMissing):
        shared.taskq.get_result(message)


def test_a_group_inside_a_pipeline_fans_in_through_the_dramatiq_layout(
    taskq_broker, shared, queue_name, start_worker
):
    @taskq.actor(queue_name=queue_name, broker=taskq_broker, store_results=True)
    def double(x):
        return 2 * x

    @taskq.actor(queue_name=queue_name, broker=taskq_broker, store_results=True)
    def total(values):
        return sum(values)

    chain = taskq.group([double.message(1), double.message(2)], broker=taskq_broker)
    chain |= total.message()
    start_worker(taskq_broker)
    chain.run()
    shared.forget_later(*chain.messages)
    assert chain.get_result(block=True, timeout=10_000) == 6


def test_notebook_watch_reads_results_in_the_dramatiq_layout(
    taskq_broker, shared, queue_name, start_worker
):
    from taskq.notebook import watch

    @taskq.actor(queue_name=queue_name, broker=taskq_broker, store_results=True, max_retries=0)
    def invert(x):
        return 1 / x

    start_worker(taskq_broker)
    messages = [invert.send(x) for x in (1, 2, 0)]
    shared.forget_later(*messages)
    view = watch(messages, broker=taskq_broker, poll_interval=20)
    try:
        assert view.wait(timeout=10_000)
    finally:
        view.close()
    assert view.results == {messages[0].message_id: 1.0, messages[1].message_id: 0.5}
    assert "ZeroDivisionError" in view.errors[messages[2].message_id]
