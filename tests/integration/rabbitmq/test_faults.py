"""Faults on a private RabbitMQ node: restart mid-run, failover between two servers, and
delays longer than the node's (lowered) consumer_timeout."""

from __future__ import annotations

import collections
import logging
import threading

import pytest

import taskq
from taskq.common import current_millis

from ...factories.rabbitmq import RABBITMQ_URL, make_broker
from ...helpers import wait_for
from .node import CONSUMER_TIMEOUT_MS

pytestmark = [pytest.mark.rabbitmq, pytest.mark.faults]


def counting_actor(broker, queue_name):
    processed = collections.Counter()
    lock = threading.Lock()

    @taskq.actor(broker=broker, queue_name=queue_name, actor_name="count")
    def count(i):
        with lock:
            processed[i] += 1

    return count, processed


def test_server_restart_mid_run_loses_nothing(second_node, queue_name, start_worker):
    with make_broker(url=second_node.url, confirm_delivery=True, retry_timeout=60_000) as broker:
        count, processed = counting_actor(broker, queue_name)
        worker = start_worker(broker, worker_threads=4)
        sent: list[str] = []
        producer_errors: list[BaseException] = []
        halfway = threading.Event()

        def produce():
            try:
                for i in range(300):
                    sent.append(count.send(i).message_id)
                    if i == 100:
                        halfway.set()
            except BaseException as e:  # pragma: no cover - reported below
                producer_errors.append(e)
                halfway.set()

        producer = threading.Thread(target=produce)
        producer.start()
        assert halfway.wait(30)
        try:
            second_node.stop_app()
        finally:
            second_node.start_app()
        producer.join(90)
        assert not producer_errors
        assert len(sent) == 300
        wait_for(lambda: len(processed) == 300, timeout=60, message="all 300 processed")
        assert set(processed) == set(range(300))
        duplicates = sum(n - 1 for n in processed.values())
        # Only deliveries unacked when the server stopped may run twice.
        assert duplicates <= worker.prefetch + worker.worker_threads


def test_failover_to_the_next_target(second_node, queue_name, start_worker):
    urls = f"{second_node.url};{RABBITMQ_URL}"
    with (
        make_broker(url=urls, retry_timeout=30_000) as broker,
        make_broker(url=RABBITMQ_URL) as cleanup_on_shared_server,
    ):
        cleanup_on_shared_server.declare_queue(queue_name)
        count, processed = counting_actor(broker, queue_name)
        start_worker(broker)
        for i in range(20):
            count.send(i)
        wait_for(lambda: len(processed) == 20, message="first batch on the private node")
        second_node.stop_app()
        try:
            for i in range(20, 40):
                count.send(i)
            wait_for(lambda: len(processed) == 40, timeout=30, message="batch after failover")
        finally:
            second_node.start_app()
        assert set(processed) == set(range(40))
        assert broker.targets.labels[broker.targets._current].endswith(":5672/%2F")


class DelayWatch(taskq.Middleware):
    def __init__(self):
        self.holds = 0

    def before_delay_message(self, broker, message):
        self.holds += 1


def test_delay_longer_than_consumer_timeout_is_redelayed_not_timed_out(
    second_node, queue_name, start_worker, caplog
):
    with make_broker(url=second_node.url) as broker:
        broker.max_delay_hold = 1000
        watch = DelayWatch()
        broker.add_middleware(watch)
        started = []

        @taskq.actor(broker=broker, queue_name=queue_name)
        def later():
            started.append(current_millis())

        start_worker(broker)
        delay = CONSUMER_TIMEOUT_MS * 2
        sent_at = current_millis()
        later.send_with_options(delay=delay)
        with caplog.at_level(logging.ERROR, logger="taskq.worker"):
            wait_for(lambda: started, timeout=30, message="delayed message processed")
        assert started[0] >= sent_at + delay
        assert watch.holds >= 3  # re-delayed about every second instead of held unacked
        assert "lost its connection" not in caplog.text
        wait_for(lambda: broker.get_queue_message_counts(queue_name) == (0, 0, 0))
        assert len(started) == 1


def test_holding_a_delay_past_consumer_timeout_breaks_the_consumer(
    second_node, queue_name, start_worker, caplog
):
    """The control for the test above: without re-delaying, RabbitMQ closes the channel."""
    with make_broker(url=second_node.url) as broker:
        broker.max_delay_hold = None

        @taskq.actor(broker=broker, queue_name=queue_name)
        def later():
            pass

        with caplog.at_level(logging.ERROR, logger="taskq.worker"):
            start_worker(broker)
            later.send_with_options(delay=60_000)
            wait_for(
                lambda: "PRECONDITION_FAILED" in caplog.text,
                timeout=CONSUMER_TIMEOUT_MS / 1000 + 10,
                message="the consumer timed out",
            )


def test_ping_opens_a_connection_or_raises_naming_the_broker():
    with make_broker() as broker:
        broker.ping()
        assert broker.state.connection is not None and broker.state.connection.is_open
    unreachable = make_broker(url="amqp://guest:guest@127.0.0.1:1/%2F", retry_timeout=200)
    with (
        unreachable as broker,
        pytest.raises(taskq.errors.ConnectionClosed, match=r"Could not connect on RabbitMQ"),
    ):
        broker.ping()
