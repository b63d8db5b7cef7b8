"""Acks from many worker threads at once on the SQLite broker: each processed message is
deleted exactly once, none is redelivered, and a lone ack is done when it returns."""

from __future__ import annotations

import threading

import pytest

import taskq
from taskq.brokers.sqlite import SQLiteBroker

from ...helpers import wait_for


@pytest.fixture
def broker(tmp_path):
    broker = SQLiteBroker(tmp_path / "taskq.db", visibility_timeout=300)
    yield broker
    broker.close()


def _left(broker: SQLiteBroker, queue_name: str) -> int:
    stats = broker.queue_stats()[queue_name]
    return int(stats["ready"] + stats["in_flight"] + stats["delayed"])


def test_acks_from_many_threads_delete_every_message_once(broker, queue_name):
    @taskq.actor(queue_name=queue_name, broker=broker)
    def job(n: int) -> None:
        pass

    broker.enqueue_many([job.message(n) for n in range(400)])
    consumer = broker.consume(queue_name, prefetch=400, timeout=1000)
    fetched = []
    while len(fetched) < 400:
        message = next(consumer)
        assert message is not None
        fetched.append(message)
    assert sorted(m.args[0] for m in fetched) == list(range(400))

    threads = [
        threading.Thread(target=lambda share=fetched[i::8]: [consumer.ack(m) for m in share])
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    wait_for(lambda: _left(broker, queue_name) == 0, message="every acked message deleted")
    assert next(consumer) is None  # nothing comes back
    consumer.close()


def test_a_lone_ack_has_deleted_the_message_when_it_returns(broker, queue_name):
    @taskq.actor(queue_name=queue_name, broker=broker)
    def job() -> None:
        pass

    job.send()
    consumer = broker.consume(queue_name, prefetch=1, timeout=1000)
    message = next(consumer)
    assert message is not None
    consumer.ack(message)
    assert _left(broker, queue_name) == 0
    consumer.close()
