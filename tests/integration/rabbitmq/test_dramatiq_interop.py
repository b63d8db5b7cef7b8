"""Wire compatibility with the real Dramatiq package, both directions, immediate and delayed.

Each side declares the queues with its own code, so these also show that a queue declared by
one library is accepted by the other.
"""

from __future__ import annotations

import pytest

import taskq
from taskq.common import current_millis

from ...factories.rabbitmq import RABBITMQ_URL, make_broker
from ...helpers import wait_for

dramatiq = pytest.importorskip("dramatiq")
dramatiq_rabbitmq = pytest.importorskip("dramatiq.brokers.rabbitmq")

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def dramatiq_broker():
    broker = dramatiq_rabbitmq.RabbitmqBroker(url=RABBITMQ_URL, middleware=[])
    yield broker
    broker.close()


def test_dramatiq_producer_feeds_a_taskq_worker(dramatiq_broker, queue_name, start_worker):
    def produce(a, b):  # pragma: no cover - runs in taskq
        raise AssertionError("the Dramatiq side only sends")

    dramatiq_add = dramatiq.actor(
        produce, broker=dramatiq_broker, queue_name=queue_name, actor_name="interop_add"
    )
    sent_at = current_millis()
    immediate = dramatiq_add.send(1, 2)
    delayed = dramatiq_add.send_with_options(args=(10, 20), delay=500)
    results = {}
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name, actor_name="interop_add")
        def add(a, b):
            results[taskq.middleware.CurrentMessage.get_current_message().message_id] = (
                a + b,
                current_millis(),
            )

        broker.add_middleware(taskq.middleware.CurrentMessage())
        start_worker(broker)
        wait_for(lambda: len(results) == 2, message="both Dramatiq messages processed by taskq")
        assert results[immediate.message_id][0] == 3
        assert results[delayed.message_id][0] == 30
        assert results[delayed.message_id][1] >= sent_at + 500
        wait_for(lambda: broker.get_queue_message_counts(queue_name) == (0, 0, 0))


def test_taskq_producer_feeds_a_dramatiq_worker(dramatiq_broker, queue_name):
    results = {}

    def record(a, b):
        message = dramatiq.middleware.CurrentMessage.get_current_message()
        results[message.message_id] = (a + b, current_millis())

    dramatiq_broker.add_middleware(dramatiq.middleware.CurrentMessage())
    dramatiq.actor(record, broker=dramatiq_broker, queue_name=queue_name, actor_name="interop_b")
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name, actor_name="interop_b")
        def send_only(a, b):  # pragma: no cover - runs in Dramatiq
            raise AssertionError("the taskq side only sends")

        sent_at = current_millis()
        immediate = send_only.send(1, 2)
        delayed = send_only.send_with_options(args=(10, 20), delay=500)
        worker = dramatiq.Worker(dramatiq_broker, worker_threads=2, worker_timeout=100)
        worker.start()
        try:
            wait_for(lambda: len(results) == 2, message="both taskq messages run by Dramatiq")
        finally:
            worker.stop()
        assert results[immediate.message_id][0] == 3
        assert results[delayed.message_id][0] == 30
        assert results[delayed.message_id][1] >= sent_at + 500
