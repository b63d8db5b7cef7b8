"""Single publishes on the shared server: the direct socket write of the producer channel
delivers what pika would, falls back to pika where it must, and loses nothing when the server
closed the connection just before."""

from __future__ import annotations

import json
import select

import pika
import pytest

from taskq.brokers.rabbitmq import broker as rabbitmq
from taskq.brokers.rabbitmq.publish import publish_direct
from taskq.message import Message

from ...factories.rabbitmq import make_broker, rabbitmqctl
from ...helpers import wait_for

pytestmark = pytest.mark.rabbitmq


def drain(broker, queue_name: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every message ready on ``queue_name``, read with basic.get on a fresh channel."""
    channel = broker.connection.channel()
    try:
        received = []
        while True:
            method, properties, body = channel.basic_get(queue_name, auto_ack=True)
            if method is None:
                return received
            received.append((properties, body))
    finally:
        channel.close()


def connection_pid(client_port: int) -> str:
    """The server-side process id of the connection coming from ``client_port``."""
    for line in rabbitmqctl("list_connections", "-q", "pid", "peer_port").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == str(client_port):
            return fields[0]
    raise AssertionError(f"RabbitMQ lists no connection from port {client_port}")


def test_sends_to_several_queues_arrive_intact_and_in_order(queue_name):
    other = queue_name + "-other"
    with make_broker() as broker:
        sent = {queue_name: [], other: []}
        for i in range(40):
            target = queue_name if i % 2 else other
            message = Message(queue_name=target, actor_name="work", args=(i, "é" * i), kwargs={})
            if i % 3 == 0:
                message.options["broker_priority"] = i % 5
            broker.enqueue(message)
            sent[target].append(message)

        def all_ready() -> bool:
            counts = [broker.get_queue_message_counts(q)[0] for q in sent]
            return counts == [20, 20]

        wait_for(all_ready)
        for target, messages in sent.items():
            received = drain(broker, target)
            assert [body for _, body in received] == [m.encode() for m in messages]
            assert [p.message_id for p, _ in received] == [m.message_id for m in messages]
            assert [p.priority for p, _ in received] == [
                m.options.get("broker_priority") for m in messages
            ]
            assert {p.delivery_mode for p, _ in received} == {2}


def test_direct_write_delivers_a_publish_pika_can_read(queue_name):
    with make_broker() as broker:
        broker.declare_queue(queue_name, ensure=True)
        body = json.dumps({"hello": "world"}).encode()
        properties = pika.BasicProperties(delivery_mode=2, message_id="m-1", priority=3)

        assert publish_direct(broker.channel, queue_name, body, properties)

        wait_for(lambda: broker.get_queue_message_counts(queue_name)[0] == 1)
        [(received_properties, received_body)] = drain(broker, queue_name)
        assert received_body == body
        assert (received_properties.message_id, received_properties.priority) == ("m-1", 3)


def test_a_body_larger_than_one_frame_goes_through_pika(queue_name):
    with make_broker() as broker:
        broker.declare_queue(queue_name, ensure=True)
        big = Message(queue_name=queue_name, actor_name="work", args=("x" * 400_000,), kwargs={})

        assert not publish_direct(
            broker.channel, queue_name, big.encode(), pika.BasicProperties(delivery_mode=2)
        )
        broker.enqueue(big)

        wait_for(lambda: broker.get_queue_message_counts(queue_name)[0] == 1)
        [(_, body)] = drain(broker, queue_name)
        assert body == big.encode()


def test_a_send_right_after_the_server_closed_the_connection_is_not_lost(queue_name, monkeypatch):
    # rabbitmqctl takes over a second; without this the producer's idle check (which reads
    # the connection after a second without sends) would notice the close instead.
    monkeypatch.setattr(rabbitmq, "_IDLE_CHECK_SECONDS", 600.0)
    with make_broker() as broker:
        before = [
            Message(queue_name=queue_name, actor_name="work", args=(i,), kwargs={})
            for i in range(5)
        ]
        for message in before:  # a steady stream, as from a busy producer
            broker.enqueue(message)
        connection = broker.state.connection
        sock = connection._impl._transport._sock
        rabbitmqctl("close_connection", connection_pid(sock.getsockname()[1]), "test closes it")
        readable, _, _ = select.select([sock], [], [], 30)
        assert readable, "RabbitMQ did not close the producer connection"

        after = Message(queue_name=queue_name, actor_name="work", args=(5,), kwargs={})
        broker.enqueue(after)

        assert broker.state.connection is not connection
        wait_for(lambda: broker.get_queue_message_counts(queue_name)[0] == 6)
        assert [body for _, body in drain(broker, queue_name)] == [
            m.encode() for m in [*before, after]
        ]
