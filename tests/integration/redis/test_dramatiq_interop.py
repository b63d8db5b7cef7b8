"""Wire compatibility with a real Dramatiq 2.x fleet sharing the namespace, both ways,
immediate and delayed. Dramatiq and taskq objects are kept apart (separate brokers)."""

from __future__ import annotations

import pytest

import taskq
from taskq.common import current_millis

from ...factories.redis import REDIS_URL
from ...helpers import wait_for

dramatiq = pytest.importorskip("dramatiq")
from dramatiq.brokers.redis import RedisBroker as DramatiqRedisBroker  # noqa: E402

DELAY = 300


@pytest.fixture
def dramatiq_broker(namespace):
    broker = DramatiqRedisBroker(url=REDIS_URL, namespace=namespace)
    yield broker
    broker.close()


@pytest.fixture
def taskq_broker(brokers, namespace):
    return brokers(namespace=namespace, heartbeat_timeout=5000)


def test_dramatiq_producer_feeds_a_taskq_worker(
    dramatiq_broker, taskq_broker, queue_name, start_worker
):
    seen = {}

    @dramatiq.actor(queue_name=queue_name, actor_name="shared", broker=dramatiq_broker)
    def shared_dramatiq(label, *, n):
        raise AssertionError("the dramatiq side only sends")

    @taskq.actor(queue_name=queue_name, actor_name="shared", broker=taskq_broker)
    def shared_taskq(label, *, n):
        seen[label] = (n, current_millis())

    start_worker(taskq_broker)
    shared_dramatiq.send("now", n=1)
    sent_at = current_millis()
    shared_dramatiq.send_with_options(args=("later",), kwargs={"n": 2}, delay=DELAY)
    wait_for(lambda: set(seen) == {"now", "later"}, message="both dramatiq messages")
    assert seen["now"][0] == 1 and seen["later"][0] == 2
    assert seen["later"][1] >= sent_at + DELAY
    wait_for(
        lambda: (
            taskq_broker.queue_stats()[queue_name]
            == {"ready": 0, "delayed": 0, "in_flight": 0, "dead": 0}
        ),
        message="everything acked",
    )


def test_taskq_producer_feeds_a_dramatiq_worker(dramatiq_broker, taskq_broker, queue_name):
    seen = {}

    @dramatiq.actor(queue_name=queue_name, actor_name="shared", broker=dramatiq_broker)
    def shared_dramatiq(label, *, n):
        seen[label] = (n, current_millis())

    @taskq.actor(queue_name=queue_name, actor_name="shared", broker=taskq_broker)
    def shared_taskq(label, *, n):
        raise AssertionError("the taskq side only sends")

    worker = dramatiq.Worker(dramatiq_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        shared_taskq.send("now", n=1)
        sent_at = current_millis()
        shared_taskq.send_with_options(args=("later",), kwargs={"n": 2}, delay=DELAY)
        wait_for(lambda: set(seen) == {"now", "later"}, message="both taskq messages")
        assert seen["now"][0] == 1 and seen["later"][0] == 2
        assert seen["later"][1] >= sent_at + DELAY
        dramatiq_broker.join(queue_name, timeout=10_000)
    finally:
        worker.stop()
    assert taskq_broker.queue_stats()[queue_name] == {
        "ready": 0,
        "delayed": 0,
        "in_flight": 0,
        "dead": 0,
    }
