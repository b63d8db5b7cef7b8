"""Reading a consumer's deliveries off its socket in one pass per read.

pika turns every frame it reads into objects, looks up registered callbacks by name for each,
and hands the three frames of a delivery (method, header, body) one by one to the channel,
which reassembles them; every frame also copies the rest of the read buffer. On a consumer
draining a backlog that is about a quarter of the process's work. :class:`DeliveryReader`
takes the connection's input first: each complete ``basic.deliver`` for the consumer's channel
(the method frame and every frame of its content already read) is decoded in place. One for
the consumer of ``BlockingChannel.consume`` goes straight into that consumer's pending events,
as pika's callbacks would put it there, with its properties decoded only when read
(:class:`LazyProperties`); any other is given to the channel as pika's assembler would give it
(``Channel._on_deliver``), which also rejects deliveries for a cancelled consumer. Anything
else it meets (a heartbeat, a ``Connection.Close``, a reply) goes through pika's own path
frame by frame, in order; a malformed or unknown frame goes there with everything after it, so
pika raises its own error. A delivery not all read yet waits in pika's buffer for the next read.

This reads pika internals and is installed only on the releases in :data:`TESTED_PIKA`
(``tests/integration/rabbitmq/test_pika_internals.py`` checks them), and only when every name
it uses is present: otherwise pika reads as before, which costs speed, never a message.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import Any

from pika import frame, spec

try:  # the event pika's consume() generator hands out (a pika internal, checked on install)
    from pika.adapters.blocking_connection import _ConsumerDeliveryEvt
except ImportError:  # pragma: no cover - another pika release: pika reads as before
    _ConsumerDeliveryEvt = None

from .publish import PIKA_INTERNALS

_FRAME_HEADER = struct.Struct(">BHL")
_DELIVERY_TAG = struct.Struct(">Q")
_CONTENT_HEADER = struct.Struct(">HHQ")
_METHOD_FRAME, _HEADER_FRAME, _BODY_FRAME = 1, 2, 3
_FRAME_END = 0xCE
_DELIVER = struct.pack(">I", spec.Basic.Deliver.INDEX)
#: Frame header (type, channel, size: 7 bytes) plus the frame-end octet.
_OVERHEAD = 8
#: Method, header, body and heartbeat frames (anything else goes to pika as it is).
_FRAME_TYPES = frozenset((1, 2, 3, 8))


class Incomplete(enum.Enum):
    """A delivery whose last frames have not been read yet."""

    INCOMPLETE = enum.auto()


INCOMPLETE = Incomplete.INCOMPLETE


class LazyProperties:
    """A delivery's ``BasicProperties``, decoded the first time one of them is read."""

    __slots__ = ("_raw", "_decoded")

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._decoded: spec.BasicProperties | None = None

    def decoded(self) -> spec.BasicProperties:
        """The properties, as pika's own reading decodes them (none, if they do not decode:
        taskq reads only ``message_id`` from them, and makes one up when it is missing)."""
        if self._decoded is None:
            properties = spec.BasicProperties()
            try:
                properties.decode(self._raw)
            except Exception:
                properties = spec.BasicProperties()
            self._decoded = properties
        return self._decoded

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decoded(), name)


class DeliveryReader:
    """Stands in for pika's ``Connection._on_data_available`` on one consumer connection."""

    def __init__(self, connection: Any, channel: Any, blocking_channel: Any) -> None:
        self._connection = connection
        self._channel = channel
        self._blocking_channel = blocking_channel
        self._number: int = channel.channel_number
        self._pika_reads: Callable[[bytes], None] = connection._on_data_available
        #: Whether this read put deliveries into the consumer's pending events.
        self._handed_over = False

    @classmethod
    def install(cls, blocking_channel: Any) -> DeliveryReader | None:
        """Read the input of ``blocking_channel``'s connection through a new reader; None
        (pika reads as before) when the pika release or its internals are not the known ones."""
        if not PIKA_INTERNALS:
            return None
        channel: Any = getattr(blocking_channel, "_impl", None)
        connection: Any = getattr(channel, "connection", None)
        assembler = getattr(channel, "_content_assembler", None)
        if not (
            _ConsumerDeliveryEvt is not None
            and callable(getattr(connection, "_on_data_available", None))
            and isinstance(getattr(connection, "_frame_buffer", None), bytes)
            and isinstance(getattr(connection, "bytes_received", None), int)
            and isinstance(getattr(connection, "frames_received", None), int)
            and isinstance(getattr(connection, "_channels", None), dict)
            and callable(getattr(channel, "_on_deliver", None))
            and isinstance(getattr(channel, "_consumers", None), dict)
            and isinstance(getattr(channel, "_cancelled", None), set)
            and hasattr(assembler, "_method_frame")
            and isinstance(getattr(channel, "channel_number", None), int)
            and hasattr(blocking_channel, "_queue_consumer_generator")
            and callable(getattr(blocking_channel.connection, "_request_channel_dispatch", None))
        ):
            return None
        reader = cls(connection, channel, blocking_channel)
        connection._on_data_available = reader.feed
        return reader

    def feed(self, data: bytes) -> None:
        """Take ``data`` read from the socket: deliveries here, other frames through pika."""
        connection = self._connection
        buffer = connection._frame_buffer + data if connection._frame_buffer else data
        connection._frame_buffer = b""
        position, end = 0, len(buffer)
        read, frames = 0, 0
        while position < end:
            if (
                self._channel._content_assembler._method_frame is not None  # pika is mid-way
                or not connection.is_open
            ):
                break
            step = self._delivery(buffer, position)
            if step is INCOMPLETE:  # the rest of it comes with the next read
                connection._frame_buffer = buffer[position:]
                break
            if step is None:
                frame_end = _frame_end(buffer, position)
                if frame_end is None:
                    break
                self._pika_reads(buffer[position:frame_end])
                position = frame_end
                continue
            read += step[0] - position
            position, count = step
            frames += count
        connection.bytes_received += read
        connection.frames_received += frames
        if self._handed_over:  # as pika's consumer sink does: end the wait for deliveries
            self._handed_over = False
            self._blocking_channel.connection._request_channel_dispatch(-self._number)
        if position < end and not connection._frame_buffer:
            self._pika_reads(buffer[position:])

    def _delivery(self, buffer: bytes, start: int) -> tuple[int, int] | Incomplete | None:
        """Hand the complete delivery at ``start`` to the channel: (where it ends, its frame
        count). INCOMPLETE when its frames are not all read yet; None, having done nothing,
        when what starts there is anything else."""
        end = len(buffer)
        if end - start < _OVERHEAD + 4:
            if end - start < 7:
                return INCOMPLETE
            if buffer[start] not in _FRAME_TYPES or _frame_end(buffer, start) is not None:
                return None
            return INCOMPLETE
        kind, number, size = _FRAME_HEADER.unpack_from(buffer, start)
        method_end = start + size + _OVERHEAD
        if (
            kind != _METHOD_FRAME
            or number != self._number
            or number not in self._connection._channels
            or buffer[start + 7 : start + 11] != _DELIVER
        ):
            return None
        if method_end > end:
            return INCOMPLETE
        if buffer[method_end - 1] != _FRAME_END:
            return None
        header_start = method_end
        if end - header_start < _OVERHEAD + _CONTENT_HEADER.size:
            return INCOMPLETE
        kind, number, size = _FRAME_HEADER.unpack_from(buffer, header_start)
        header_end = header_start + size + _OVERHEAD
        if kind != _HEADER_FRAME or number != self._number:
            return None
        if header_end > end:
            return INCOMPLETE
        if buffer[header_end - 1] != _FRAME_END:
            return None
        class_id, _, body_size = _CONTENT_HEADER.unpack_from(buffer, header_start + 7)
        if class_id != spec.BasicProperties.INDEX:
            return None
        content = self._body(buffer, header_end, body_size)
        if content is None or content is INCOMPLETE:
            return content
        body, position, frames = content
        method = _decode_deliver(buffer, start + 11, method_end - 1)
        if method is None:
            return None
        properties_start = header_start + 7 + _CONTENT_HEADER.size
        generator = self._blocking_channel._queue_consumer_generator
        if (
            generator is not None
            and method.consumer_tag == generator.consumer_tag
            and method.consumer_tag in self._channel._consumers
            and method.consumer_tag not in self._channel._cancelled
        ):
            raw = buffer[properties_start : header_end - 1]
            generator.pending_events.append(_ConsumerDeliveryEvt(method, LazyProperties(raw), body))
            self._handed_over = True
            return position, frames + 2
        properties = spec.BasicProperties()
        try:
            properties.decode(buffer, properties_start)
        except Exception:  # malformed: pika's path reads it again and raises its own error
            return None
        self._channel._on_deliver(
            frame.Method(self._number, method),
            frame.Header(self._number, body_size, properties),
            body,
        )
        return position, frames + 2

    def _body(
        self, buffer: bytes, start: int, size: int
    ) -> tuple[bytes, int, int] | Incomplete | None:
        """The body of ``size`` bytes in the body frames from ``start``: (body, where its
        last frame ends, how many frames); INCOMPLETE when they are not all read yet, None
        when a frame there is not one of them."""
        end = len(buffer)
        fragments: list[bytes] = []
        seen, position, frames = 0, start, 0
        while seen < size:
            if end - position < _OVERHEAD:
                return INCOMPLETE
            kind, number, length = _FRAME_HEADER.unpack_from(buffer, position)
            frame_end = position + length + _OVERHEAD
            if kind != _BODY_FRAME or number != self._number or seen + length > size:
                return None
            if frame_end > end:
                return INCOMPLETE
            if buffer[frame_end - 1] != _FRAME_END:
                return None
            fragments.append(buffer[position + 7 : frame_end - 1])
            seen += length
            position = frame_end
            frames += 1
        body = fragments[0] if len(fragments) == 1 else b"".join(fragments)
        return body, position, frames


def _frame_end(buffer: bytes, start: int) -> int | None:
    """Where the frame at ``start`` ends, when all of it is read (else None)."""
    if len(buffer) - start < 7 or buffer[start] not in _FRAME_TYPES:
        return None
    end = start + _FRAME_HEADER.unpack_from(buffer, start)[2] + _OVERHEAD
    return end if end <= len(buffer) else None


def _decode_deliver(buffer: bytes, start: int, end: int) -> spec.Basic.Deliver | None:
    """The ``basic.deliver`` arguments between ``start`` and ``end``, decoded as pika does
    (short strings as text when they are UTF-8); None when they do not fill that span."""
    try:
        consumer_tag, position = _short_string(buffer, start)
        delivery_tag = _DELIVERY_TAG.unpack_from(buffer, position)[0]
        redelivered = bool(buffer[position + 8] & 1)
        exchange, position = _short_string(buffer, position + 9)
        routing_key, position = _short_string(buffer, position)
    except (IndexError, struct.error):
        return None
    if position != end:
        return None
    return spec.Basic.Deliver(consumer_tag, delivery_tag, redelivered, exchange, routing_key)


def _short_string(buffer: bytes, start: int) -> tuple[str | bytes, int]:
    length = buffer[start]
    raw = buffer[start + 1 : start + 1 + length]
    try:
        return raw.decode("utf8"), start + 1 + length
    except UnicodeDecodeError:
        return raw, start + 1 + length
