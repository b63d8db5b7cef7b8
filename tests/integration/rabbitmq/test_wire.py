"""RabbitMQ wire behaviour on the shared server: hand-made messages, priorities, redelivery,
dead letters rejected by foreign consumers, events and clear connection errors."""

from __future__ import annotations

import json
import threading
import uuid

import pika
import pytest

import taskq
from taskq.brokers.rabbitmq import RabbitmqBroker
from taskq.common import current_millis
from taskq.errors import ConnectionClosed

from ...factories.rabbitmq import RABBITMQ_URL, make_broker
from ...helpers import wait_for
from .node import free_port

pytestmark = pytest.mark.rabbitmq


def publish_by_hand(queue_name: str, body: bytes, **properties: object) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        connection.channel().basic_publish(
            exchange="",
            routing_key=queue_name,
            body=body,
            properties=pika.BasicProperties(delivery_mode=2, **properties),
        )
    finally:
        connection.close()


def test_message_published_by_hand_with_pika_is_processed(queue_name, start_worker):
    seen = []
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name, actor_name="greet")
        def greet(name, *, punctuation):
            seen.append(name + punctuation)

        start_worker(broker)
        wait_for(lambda: broker.get_queue_message_counts(queue_name) == (0, 0, 0))
        payload = {
            "queue_name": queue_name,
            "actor_name": "greet",
            "args": ["world"],
            "kwargs": {"punctuation": "!"},
            "options": {},
            "message_id": str(uuid.uuid4()),
            "message_timestamp": current_millis(),
        }
        publish_by_hand(queue_name, json.dumps(payload).encode())
        wait_for(lambda: seen == ["world!"], message="hand-published message processed")


def test_higher_broker_priority_is_delivered_first(queue_name, start_worker):
    order = []
    with make_broker(max_priority=10) as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def record(label):
            order.append(label)

        for i in range(5):
            record.send_with_options(args=(f"low{i}",), broker_priority=1)
        record.send_with_options(args=("high",), broker_priority=9)
        start_worker(broker, worker_threads=1, prefetch=1)
        wait_for(lambda: len(order) == 6, message="6 messages processed")
        assert order[0] == "high"


def test_unacked_message_is_redelivered_when_its_consumer_connection_drops(queue_name):
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def job():
            pass

        sent = job.send()
        first = broker.consume(queue_name, prefetch=1, timeout=200)
        taken = wait_for(lambda: next(first), message="first delivery")
        assert taken.message_id == sent.message_id and not taken.redelivered
        first.connection.close()  # a worker dying: no ack was sent
        second = broker.consume(queue_name, prefetch=1, timeout=200)
        try:
            again = wait_for(lambda: next(second), message="redelivery")
            assert again.message_id == sent.message_id and again.redelivered
            second.ack(again)
        finally:
            second.close()
        wait_for(lambda: broker.get_queue_message_counts(queue_name) == (0, 0, 0))


def test_acks_from_other_threads_are_applied_by_the_consumer(queue_name):
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def job(i):
            pass

        for i in range(4):
            job.send(i)
        consumer = broker.consume(queue_name, prefetch=4, timeout=100)
        try:
            fetched = []
            wait_for(lambda: (m := next(consumer)) and fetched.append(m) or len(fetched) == 4)
            threads = [threading.Thread(target=consumer.ack, args=(m,)) for m in fetched]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert broker.queue_stats()[queue_name]["in_flight"] == 0
            next(consumer)  # the consumer's thread runs the queued acks
        finally:
            consumer.close()
        assert broker.get_queue_message_counts(queue_name) == (0, 0, 0)


def test_a_lone_ack_sent_while_the_consumer_waits_frees_its_window(queue_name):
    """Acks that arrive while the consumer's thread waits on the socket may wait a moment for
    company; a lone one must still go out soon, or a full window would stall."""
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def job(i):
            pass

        for i in range(9):
            job.send(i)
        fetched: list = []
        ninth: list = []
        consumer_ready = threading.Event()

        def owner() -> None:  # the thread that owns the consumer, as a ConsumerThread does
            consumer = broker.consume(queue_name, prefetch=8, timeout=30_000)
            try:
                while len(fetched) < 8:
                    message = next(consumer)
                    if message is not None:
                        fetched.append(message)
                fetched.append(consumer)
                consumer_ready.set()
                ninth.append(next(consumer))  # blocks: the window is full until an ack lands
                consumer.ack(ninth[0])
                for message in fetched[1:8]:
                    consumer.ack(message)
            finally:
                consumer.close()

        thread = threading.Thread(target=owner)
        thread.start()
        try:
            assert consumer_ready.wait(10)
            consumer = fetched[8]
            consumer.ack(fetched[0])  # from another thread, while the owner waits
            thread.join(10)  # well below the 30 s inactivity timeout
            assert not thread.is_alive(), "the ninth message never came: the ack was held"
        finally:
            thread.join(40)
        assert ninth[0] is not None and ninth[0].args == (8,)
        wait_for(lambda: broker.get_queue_message_counts(queue_name) == (0, 0, 0))


def test_message_rejected_by_a_foreign_consumer_is_listed_as_dead_letter(queue_name):
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=queue_name)
        def job():
            pass

        sent = job.send()
        # Reject it the way a Dramatiq worker does: through the queue's dead-letter exchange.
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        try:
            channel = connection.channel()
            method = wait_for(lambda: channel.basic_get(queue_name)[0], message="message")
            channel.basic_nack(method.delivery_tag, requeue=False)
        finally:
            connection.close()
        letters = wait_for(lambda: broker.dead_letter_messages(queue_name), message="dead letter")
        assert letters[0].message_id == sent.message_id
        assert "rejected" in letters[0].reason
        assert broker.get_queue_message_counts(queue_name)[2] == 1  # listing kept it
        assert broker.requeue_dead_letters(queue_name, [sent.message_id]) == 1
        assert broker.get_queue_message_counts(queue_name) == (1, 0, 0)


def test_events_reach_a_subscriber(queue_name):
    with make_broker() as broker:
        with broker.subscribe_events(timeout=200) as stream:
            broker.publish_event({"event": "enqueued", "message_id": queue_name})
            event = wait_for(lambda: next(stream), message="event received")
        assert event == {"event": "enqueued", "message_id": queue_name}
        assert broker.recent_events() == []


def test_unreachable_server_raises_connection_closed_with_masked_url():
    url = f"amqp://guest:s3cret@127.0.0.1:{free_port()}/%2F"
    broker = RabbitmqBroker(url=url, retry_timeout=300)
    message = taskq.Message(queue_name="default", actor_name="nobody")
    with pytest.raises(ConnectionClosed) as caught:
        broker.enqueue(message)
    assert "guest:***@127.0.0.1" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_queue_declared_with_other_arguments_is_reported_clearly(queue_name):
    with make_broker(max_priority=5) as broker:
        broker.declare_queue(queue_name, ensure=True)
        with make_broker() as other, pytest.raises(taskq.errors.BrokerError, match=queue_name):
            other.declare_queue(queue_name, ensure=True)
