"""A worker whose RabbitMQ queue is deleted under it declares it again and keeps consuming."""

from __future__ import annotations

import time

import pika
import pytest

import taskq
from taskq.worker import Worker

from ...factories.rabbitmq import make_broker
from ...helpers import wait_for

pytestmark = pytest.mark.rabbitmq


def test_a_deleted_queue_is_declared_again_and_consumed(queue_name, monkeypatch):
    monkeypatch.setattr("taskq.worker.CONSUMER_RESTART_DELAY_SECS", 0.01)
    seen = []
    with make_broker() as broker:

        @taskq.actor(queue_name=queue_name, broker=broker)
        def work(x):
            seen.append(x)

        worker = Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            work.send(1)
            wait_for(lambda: seen == [1], message="the first message")
            broker.channel.queue_delete(queue_name)

            def declared_again() -> bool:
                try:
                    broker.channel.queue_declare(queue_name, passive=True)
                    return True
                except pika.exceptions.ChannelClosedByBroker:
                    del broker.channel
                    return False

            wait_for(declared_again, message="the queue declared again")
            work.send(2)
            wait_for(lambda: seen == [1, 2], message="a message sent after the deletion")
            cpu_before = time.process_time()
            time.sleep(0.5)
            assert time.process_time() - cpu_before < 0.4  # no consumer spins meanwhile
        finally:
            worker.stop(timeout=10_000)
