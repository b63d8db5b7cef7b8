"""Publishing one message on a producer channel without a trip through pika's I/O loop.

``BlockingChannel.basic_publish`` marshals three frames, buffers them in the transport, turns
on a writability watcher and polls the I/O loop until the buffer is written: several system
calls and a long Python path for one ``send``. On an idle producer that path is cold, and it
is most of the time from ``send()`` to the bytes leaving. When the transport holds nothing
yet and the server sent nothing pika has not read, the same frames, in the same order, can
go to the socket in one ``send`` instead; what the socket does not take goes through pika's
buffer and I/O loop as before. Anything waiting to be read (a heartbeat, a ``Connection.Close``,
the end of the stream) sends the publish through pika, whose poll reads it first, so a
connection the server closed is noticed and the message retried on a new one instead of
being written into a dead socket.

This reads pika internals (the connection's ``_impl`` and its plaintext transport); when they
are not what is expected, :func:`publish_direct` declines and the caller publishes through
pika's public API. It does so too on any pika release outside :data:`TESTED_PIKA`, the
releases ``tests/integration/rabbitmq/test_pika_internals.py`` checks those internals on (and
``pyproject.toml`` allows): a pika that renamed them costs speed, never a message.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

import pika
from pika import frame, spec

if TYPE_CHECKING:
    from ...message import Message
    from .connection import ProducerState

try:
    from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport
except ImportError:  # pika moved its transport: every publish takes pika's public path
    _AsyncPlaintextTransport = None

#: The pika releases (major, minor) whose private names taskq relies on (here, in
#: ``connection.send_frames_together``, in the consumer's acks and in ``deliveries``). Keep in step with
#: the ``pika`` bound in ``pyproject.toml``; the internals test fails on any other release.
TESTED_PIKA = ((1, 3), (1, 4))


def _pika_release() -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in pika.__version__.split(".")[:2])
    except ValueError:
        return (0, 0)
    return major, minor


#: Whether this pika is one whose internals taskq may use (else only its public API).
PIKA_INTERNALS = _pika_release() in TESTED_PIKA and _AsyncPlaintextTransport is not None

#: Marshaled ``basic.publish`` method frames by (channel number, routing key); bounded.
_method_frames: dict[tuple[int, str], bytes] = {}
_MAX_CACHED_FRAMES = 1024


def publish_direct(
    channel: Any, routing_key: str, body: bytes, properties: pika.BasicProperties
) -> bool:
    """Write one ``basic.publish`` to the default exchange straight to the socket.

    Returns False, having sent nothing, when the fast path does not apply (TLS, data already
    buffered, input not yet read, an empty body or one larger than a frame, a closed channel
    or unknown pika internals). Raises ``OSError`` when the socket fails: the connection is
    then unusable. Not for a channel in confirm mode, whose publishes pika must count.
    """
    if not PIKA_INTERNALS:
        return False
    impl: Any = getattr(getattr(channel, "connection", None), "_impl", None)
    transport: Any = getattr(impl, "_transport", None)
    if (
        type(transport) is not _AsyncPlaintextTransport
        or transport.get_write_buffer_size()
        or not 0 < len(body) <= getattr(impl, "_body_max_length", 0)
        or not channel.is_open
        or _has_input(transport._sock)
    ):
        return False
    number = channel.channel_number
    method = _method_frames.get((number, routing_key))
    if method is None:
        if len(_method_frames) >= _MAX_CACHED_FRAMES:
            _method_frames.clear()
        publish = spec.Basic.Publish(exchange="", routing_key=routing_key)
        method = _method_frames[number, routing_key] = frame.Method(number, publish).marshal()
    data = b"".join(
        (
            method,
            frame.Header(number, len(body), properties).marshal(),
            frame.Body(number, body).marshal(),
        )
    )
    try:
        sent = transport._sock.send(data)
    except BlockingIOError:
        sent = 0
    impl.bytes_sent += len(data)
    impl.frames_sent += 3
    if sent < len(data):
        impl._adapter_emit_data(data[sent:])
        channel.connection._flush_output()
    return True


def message_properties(message: Message[Any]) -> pika.BasicProperties:
    """The AMQP properties a message is published with: persistent, its ``broker_priority``
    and its message id."""
    return pika.BasicProperties(
        delivery_mode=2,
        priority=message.options.get("broker_priority"),
        message_id=message.message_id,
    )


def publish_on_ready_channel(
    state: ProducerState,
    canonical: str,
    routing_key: str,
    body: bytes,
    properties: pika.BasicProperties,
    *,
    confirm_delivery: bool,
    idle_seconds: float,
) -> bool:
    """Publish at once on the calling thread's channel when it is open, was used within the
    last ``idle_seconds`` and has declared ``canonical``: the common case, without the retry
    machinery. Returns False when nothing was ready (the caller takes the retrying path); the
    errors of a broken connection propagate."""
    channel = state.channel
    now = time.monotonic()
    if (
        channel is None
        or now - state.last_used > idle_seconds
        or canonical not in state.declared
        or not channel.is_open
    ):
        return False
    # Straight to the socket, unless confirms are on or pika last read the connection a while
    # ago: then through pika, whose poll also reads what the server sent.
    if (
        confirm_delivery
        or now - state.last_polled > idle_seconds
        or not publish_direct(channel, routing_key, body, properties)
    ):
        channel.basic_publish(
            exchange="",
            routing_key=routing_key,
            body=body,
            properties=properties,
            mandatory=confirm_delivery,  # as in the broker's retrying path
        )
        state.last_polled = now
    state.last_used = now
    return True


def _has_input(sock: socket.socket) -> bool:
    """Whether the server sent something (or closed the stream) that pika has not read."""
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    return True
