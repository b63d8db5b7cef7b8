"""The consumer's delivery reader (taskq.brokers.rabbitmq.deliveries) against pika's own.

Each test opens a real connection and consumer, then feeds the connection byte streams as the
socket would hand them over: whole, cut at every size, mixed with other frames, or broken. The
reader must hand the channel exactly what pika's own reading does, in the same order, and let
pika see (and reject) everything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
from pika import frame, spec

import taskq
from taskq.brokers.rabbitmq.deliveries import DeliveryReader, LazyProperties

from ...factories.rabbitmq import RABBITMQ_URL, make_broker

pytestmark = pytest.mark.rabbitmq

BODY = b'{"queue_name":"default","actor_name":"add","args":[1,2],"kwargs":{},"options":{}}'


class Consumer:
    """A real channel consuming an empty queue, whose input the tests write themselves."""

    def __init__(self) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        self.channel = self.connection.channel()
        self.queue = f"taskq-deliveries-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, auto_delete=True)
        self.deliveries = self.channel.consume(self.queue, inactivity_timeout=0.01)
        next(self.deliveries)  # consuming: the consumer tag is known
        (self.tag,) = self.channel._consumer_infos
        self.impl = self.connection._impl
        self.number = self.channel.channel_number

    def frames(self, body: bytes, delivery_tag: int, **properties: Any) -> bytes:
        """The frames RabbitMQ sends for one delivery of ``body``."""
        deliver = spec.Basic.Deliver(self.tag, delivery_tag, delivery_tag % 2 == 0, "", "rk")
        header = frame.Header(self.number, len(body), pika.BasicProperties(**properties))
        parts = [frame.Method(self.number, deliver).marshal(), header.marshal()]
        body_max = self.impl._body_max_length
        parts += [
            frame.Body(self.number, body[i : i + body_max]).marshal()
            for i in range(0, len(body), body_max)
        ]
        return b"".join(parts)

    def received(self) -> list[tuple[Any, ...]]:
        """What the channel was handed since the last call, as comparable tuples."""
        events = self.channel._queue_consumer_generator.pending_events
        out = [
            (
                e.method.consumer_tag,
                e.method.delivery_tag,
                e.method.redelivered,
                e.method.exchange,
                e.method.routing_key,
                dict(vars(_decoded(e.properties))),
                e.body,
            )
            for e in events
        ]
        events.clear()
        return out

    def close(self) -> None:
        self.channel.cancel()
        self.connection.close()


def _decoded(properties: Any) -> Any:
    return properties.decoded() if isinstance(properties, LazyProperties) else properties


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    consumer = Consumer()
    yield consumer
    consumer.close()


def stream(consumer: Consumer) -> bytes:
    """Deliveries of every shape: with and without properties, empty, over several frames."""
    big = b"x" * (consumer.impl._body_max_length * 2 + 17)
    return b"".join(
        (
            consumer.frames(BODY, 1, delivery_mode=2, message_id="m-1"),
            consumer.frames(b"", 2, message_id="empty"),
            consumer.frames(big, 3, priority=5, headers={"k": "v"}),
            consumer.frames(BODY, 4),
        )
    )


def test_the_reader_hands_the_channel_what_pika_would_whole_or_cut_anywhere(consumer):
    data = stream(consumer)
    consumer.impl._on_data_available(data)
    expected = consumer.received()
    assert [d[1] for d in expected] == [1, 2, 3, 4]

    assert DeliveryReader.install(consumer.channel) is not None
    received_before = consumer.impl.bytes_received
    consumer.impl._on_data_available(data)
    assert consumer.received() == expected
    assert consumer.impl.bytes_received == received_before + len(data)
    for size in (1, 2, 7, 8, 11, 64, 1000, 4093):
        for i in range(0, len(data), size):
            consumer.impl._on_data_available(data[i : i + size])
        assert consumer.received() == expected, f"reads of {size} bytes"


def test_deliveries_for_the_consumer_skip_pika_and_decode_properties_when_read(consumer):
    assert DeliveryReader.install(consumer.channel) is not None
    consumer.impl._on_data_available(consumer.frames(BODY, 1, message_id="m-1", priority=3))
    (event,) = consumer.channel._queue_consumer_generator.pending_events
    assert isinstance(event.properties, LazyProperties)
    assert event.properties._decoded is None
    assert (event.properties.message_id, event.properties.priority) == ("m-1", 3)
    assert consumer.connection._channels_pending_dispatch == {-consumer.number}
    consumer.received()


def test_properties_that_do_not_decode_read_as_none_and_the_body_still_arrives(consumer):
    DeliveryReader.install(consumer.channel)
    data = bytearray(consumer.frames(BODY, 1, message_id="m-1"))
    method_size = 7 + int.from_bytes(data[3:7], "big") + 1
    flags_at = method_size + 7 + 12
    data[flags_at : flags_at + 2] = b"\xff\xff"  # every property flagged, none present
    consumer.impl._on_data_available(bytes(data))
    (event,) = consumer.channel._queue_consumer_generator.pending_events
    assert event.body == BODY
    assert event.properties.message_id is None
    consumer.received()


def test_a_delivery_for_a_cancelled_consumer_goes_through_pika_which_rejects_it(consumer):
    DeliveryReader.install(consumer.channel)
    channel = consumer.channel._impl
    channel._cancelled.add(consumer.tag)
    rejected: list[int] = []
    channel.basic_reject = lambda tag, requeue=True: rejected.append(tag)
    try:
        consumer.impl._on_data_available(consumer.frames(BODY, 7))
    finally:
        channel._cancelled.discard(consumer.tag)
        del channel.basic_reject
    assert rejected == [7]
    assert consumer.received() == []


def test_other_frames_between_deliveries_still_reach_pika(consumer):
    DeliveryReader.install(consumer.channel)
    heartbeats: list[bool] = []
    checker, consumer.impl._heartbeat_checker = (
        consumer.impl._heartbeat_checker,
        type("Checker", (), {"received": lambda self: heartbeats.append(True)})(),
    )
    heartbeat = frame.Heartbeat().marshal()
    data = consumer.frames(BODY, 1) + heartbeat + consumer.frames(BODY, 2) + heartbeat
    try:
        consumer.impl._on_data_available(data)
    finally:
        consumer.impl._heartbeat_checker = checker
    assert [d[1] for d in consumer.received()] == [1, 2]
    assert heartbeats == [True, True]


def test_a_broken_frame_is_refused_by_pika_as_without_the_reader(consumer):
    DeliveryReader.install(consumer.channel)
    broken = bytearray(consumer.frames(BODY, 1))
    broken[-1] = 0x00  # the last frame's end octet
    with pytest.raises(pika.exceptions.InvalidFrameError):
        consumer.impl._on_data_available(bytes(broken))
    assert consumer.received() == []
    consumer.impl._frame_buffer = b""  # what pika kept of the broken stream


def test_a_consumer_reads_real_deliveries_through_the_reader():
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=f"deliveries_{uuid.uuid4().hex[:8]}")
        def echo(text):
            return text

        big = "y" * 300_000  # more than one body frame
        sent = [echo.send(big if i == 3 else str(i)) for i in range(6)]
        consumer = broker.consume(echo.queue_name, prefetch=10, timeout=2000)
        try:
            assert isinstance(consumer._reader, DeliveryReader)
            got = []
            while len(got) < len(sent):
                message = next(consumer)
                if message is not None:
                    got.append(message)
                    consumer.ack(message)
            assert [m.message_id for m in got] == [m.message_id for m in sent]
            assert got[3].args == (big,)
        finally:
            consumer.close()
