"""The private pika names taskq's RabbitMQ speed-ups read, checked on a real connection.

When pika renames or reshapes any of them, these tests fail and say which: update the code
that reads it (``taskq.brokers.rabbitmq.publish``, ``rabbitmq.connection.send_frames_together``,
the consumer's acks and ``holds_more``, ``rabbitmq.deliveries``), then ``TESTED_PIKA`` and the
bound in pyproject.toml. (``test_deliveries.py`` checks the delivery reader against pika's own
reading.)
On a pika outside ``TESTED_PIKA`` taskq takes pika's public API only.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from pathlib import Path

import pika
import pytest

from taskq.brokers.rabbitmq import publish as rabbitmq_publish
from taskq.brokers.rabbitmq.publish import PIKA_INTERNALS, TESTED_PIKA, publish_direct

from ...factories.rabbitmq import RABBITMQ_URL

pytestmark = pytest.mark.rabbitmq

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_installed_pika_is_a_release_whose_internals_taskq_knows():
    release = tuple(int(part) for part in pika.__version__.split(".")[:2])
    assert release in TESTED_PIKA, (
        f"pika {pika.__version__} is not in TESTED_PIKA {TESTED_PIKA}: check the internals "
        "below on it, then add it there and widen the bound in pyproject.toml"
    )
    assert PIKA_INTERNALS


def test_pyproject_bounds_pika_to_the_tested_releases():
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    spec = next(req for req in extras["rabbitmq"] if req.startswith("pika"))
    upper = re.search(r"<\s*(\d+)\.(\d+)", spec)
    assert upper, f"pyproject.toml leaves pika unbounded above: {spec!r}"
    assert (int(upper[1]), int(upper[2]) - 1) == max(TESTED_PIKA), spec


def test_transport_class_is_importable_where_taskq_looks():
    assert rabbitmq_publish._AsyncPlaintextTransport is not None


@pytest.fixture
def channel():
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    queue = f"taskq-internals-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue, auto_delete=True)
    channel.test_queue = queue  # type: ignore[attr-defined]
    yield channel
    if connection.is_open:
        channel.queue_delete(queue)
        connection.close()


def test_connection_internals_the_direct_publish_reads(channel):
    impl = channel.connection._impl
    transport = impl._transport
    assert type(transport) is rabbitmq_publish._AsyncPlaintextTransport
    assert callable(transport.get_write_buffer_size)
    assert transport._sock.fileno() >= 0
    assert isinstance(impl._body_max_length, int)
    assert callable(impl._adapter_emit_data)
    assert isinstance(impl.bytes_sent, int)
    assert isinstance(impl.frames_sent, int)
    assert callable(impl._output_marshaled_frames)  # send_frames_together replaces it
    assert callable(channel.connection._flush_output)


def test_direct_publish_takes_its_fast_path_and_the_message_arrives(channel):
    queue = channel.test_queue
    properties = pika.BasicProperties(delivery_mode=2, message_id="m1")
    assert publish_direct(channel, queue, b'{"x": 1}', properties)
    deadline = 50
    while deadline:
        method, got_properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            break
        channel.connection.sleep(0.05)
        deadline -= 1
    assert body == b'{"x": 1}'
    assert got_properties.message_id == "m1"


def test_channel_internals_the_consumer_reads(channel):
    queue = channel.test_queue
    channel.basic_publish("", queue, b"one")
    channel.basic_publish("", queue, b"two")
    deliveries = channel.consume(queue, inactivity_timeout=5)
    method, _, body = next(deliveries)
    assert body == b"one"
    generator = channel._queue_consumer_generator
    assert hasattr(generator, "pending_events")
    channel._impl.basic_ack(method.delivery_tag)  # the consumer's acks go this way
    method, _, body = next(deliveries)
    channel._impl.basic_nack(method.delivery_tag, requeue=True)
    channel.cancel()


def test_connection_and_channel_internals_the_delivery_reader_reads(channel):
    from taskq.brokers.rabbitmq.deliveries import DeliveryReader

    impl = channel.connection._impl
    assert callable(impl._on_data_available)
    assert isinstance(impl._frame_buffer, bytes)
    assert isinstance(impl.bytes_received, int)
    assert isinstance(impl.frames_received, int)
    assert channel.channel_number in impl._channels
    assert callable(channel._impl._on_deliver)
    assert channel._impl._content_assembler._method_frame is None
    assert isinstance(channel._impl._consumers, dict)
    assert isinstance(channel._impl._cancelled, set)
    assert callable(channel.connection._request_channel_dispatch)
    assert DeliveryReader.install(channel) is not None


def test_the_consume_generator_hands_out_the_events_the_delivery_reader_builds(channel):
    from pika.adapters.blocking_connection import _ConsumerDeliveryEvt

    queue = f"taskq-internals-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue, auto_delete=True)
    deliveries = channel.consume(queue, inactivity_timeout=0.01)
    assert next(deliveries) == (None, None, None)
    generator = channel._queue_consumer_generator
    assert generator.consumer_tag in channel._impl._consumers
    assert _ConsumerDeliveryEvt.__slots__ == ("method", "properties", "body")
    generator.pending_events.append(_ConsumerDeliveryEvt("method", "properties", b"body"))
    assert next(deliveries) == ("method", "properties", b"body")
    channel.cancel()
