"""The RabbitMQ broker, on pika, with Dramatiq's queue layout and wire format.

Each queue ``q`` comes with ``q.DQ`` (delayed messages, each carrying its ``eta``) and ``q.XQ``
(dead letters, kept ``DEAD_MESSAGE_TTL`` ms), declared with exactly Dramatiq's arguments so a
queue declared by either library is accepted by the other. Messages are persistent JSON bodies
published to the default exchange with the queue name as routing key.

Producers use one connection per thread; every consumer owns its connection. Unlike Dramatiq,
a worker never holds a delayed message unacked longer than ``max_delay_hold`` ms: it puts it back
on the delay queue (same eta), so delays longer than RabbitMQ's ``consumer_timeout`` work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pika
import pika.exceptions

from ...broker import Broker, Consumer, DeadLetter, MessageProxy
from ...common import current_millis, dq_name, q_name, validate_queue_name, xq_name
from ...errors import BrokerError
from ...message import Message
from ...middleware.middleware import Middleware
from .admin import RabbitmqAdmin
from .connection import (
    RETRYABLE_ERRORS,
    Targets,
    close_quietly,
    logger,
    retry_for,
)
from .consumer import RabbitmqConsumer, RabbitmqMessageProxy
from .dead_letters import DEAD_MESSAGE_TTL
from .events import RabbitmqEvents
from .publish import publish_direct

__all__ = [
    "DEAD_MESSAGE_TTL",
    "MAX_DECLARE_ATTEMPTS",
    "MAX_ENQUEUE_ATTEMPTS",
    "RabbitmqBroker",
    "RabbitmqMessageProxy",
]

T = TypeVar("T")

#: A producer connection idle longer than this (s) reads what the server sent before the next
#: publish, so a connection the server closed meanwhile is noticed first.
_IDLE_CHECK_SECONDS = 1.0
#: Dramatiq's attempt counts for publishing and declaring. taskq retries both with backoff for
#: ``retry_timeout`` ms instead; the names are kept for code that imports them.
MAX_ENQUEUE_ATTEMPTS = 6
MAX_DECLARE_ATTEMPTS = 2
#: pika's loggers that report connections broken under them (a producer connection idle past
#: its heartbeat is often closed by the server before the broker is).
_PIKA_CONNECTION_LOGGERS = ("pika.adapters.base_connection", "pika.adapters.blocking_connection")


class _IgnoreScaryLogs(logging.Filter):
    """Drops pika's reports of a connection whose socket already broke ("Broken pipe"), logged
    when the broker closes connections the server had dropped (as Dramatiq's filter does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Broken pipe" not in record.getMessage()


def _ignore_scary_pika_logs() -> None:
    for name in _PIKA_CONNECTION_LOGGERS:
        pika_logger = logging.getLogger(name)
        if not any(isinstance(f, _IgnoreScaryLogs) for f in pika_logger.filters):
            pika_logger.addFilter(_IgnoreScaryLogs())


class _ProducerState(threading.local):
    """The calling thread's producer connection and channels."""

    def __init__(self) -> None:
        self.connection: pika.BlockingConnection | None = None
        self.target = 0
        self.channel: Any = None
        self.batch_channel: Any = None
        self.declared: set[str] = set()
        self.last_used = 0.0
        #: When pika last polled the connection (read what the server sent).
        self.last_polled = 0.0


class RabbitmqBroker(Broker):
    """A broker for RabbitMQ (``pip install taskq[rabbitmq]``).

    Connect with ``url=`` (one URL, several separated by ``;``, or a list; the vhost is the URL
    path, e.g. ``amqp://guest:guest@127.0.0.1:5672/app1``), ``parameters=[dict(host=...), ...]``
    or pika keyword arguments (``host=``, ``port=``, ``virtual_host=``...). With several
    targets, a lost connection fails over to the next one.

    ``confirm_delivery=True`` waits for RabbitMQ to confirm every publish (``enqueue_many``
    commits a whole batch at once). ``max_priority`` declares queues with ``x-max-priority``;
    send with ``broker_priority=N`` (higher runs first). Producers retry a failed publish with
    backoff for ``retry_timeout`` ms, then raise :class:`taskq.errors.ConnectionClosed`.
    ``dead_letter_ttl`` (ms) is how long ``.XQ`` queues keep dead letters; by default the
    ``taskq_dead_message_ttl`` or ``dramatiq_dead_message_ttl`` environment variable, else 7
    days (both sides must declare a queue with the same value).
    """

    #: Held delayed messages are re-delayed after this long (ms), well below consumer_timeout.
    max_delay_hold: int | None = 120_000
    logger_name = "taskq.brokers.rabbitmq"
    broker_message_options = frozenset({"broker_priority"})
    events: RabbitmqEvents

    def __init__(
        self,
        *,
        confirm_delivery: bool = False,
        url: str | list[str] | None = None,
        middleware: list[Middleware] | None = None,
        max_priority: int | None = None,
        parameters: Sequence[dict[str, Any]] | None = None,
        retry_timeout: int = 30_000,
        dead_letter_ttl: int | None = None,
        **kwargs: Any,
    ) -> None:
        if max_priority is not None and not (
            isinstance(max_priority, int) and 0 < max_priority <= 255
        ):
            raise ValueError(f"max_priority must be an integer from 1 to 255, got {max_priority!r}")
        if dead_letter_ttl is not None and (
            not isinstance(dead_letter_ttl, int) or dead_letter_ttl <= 0
        ):
            raise ValueError(
                f"RabbitmqBroker: dead_letter_ttl must be a positive number of ms, "
                f"got {dead_letter_ttl!r}"
            )
        self.targets = Targets(url, parameters, **kwargs)
        self.confirm_delivery = confirm_delivery
        self.max_priority = max_priority
        self.retry_timeout = retry_timeout
        self.dead_letter_ttl = DEAD_MESSAGE_TTL if dead_letter_ttl is None else dead_letter_ttl
        self.state = _ProducerState()
        self.connections: set[pika.BlockingConnection] = set()
        self._connections_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._in_flight_lock = threading.Lock()
        #: Queue counts, flush and join, dead letters (the methods below delegate).
        self.admin = RabbitmqAdmin(self)
        events = RabbitmqEvents(lambda: self.connection, self.targets)
        super().__init__(middleware=middleware, events=events)

    @property
    def consumer_class(self) -> type[RabbitmqConsumer]:
        """The consumer type :meth:`consume` builds (as in Dramatiq)."""
        return RabbitmqConsumer

    # -- producer connections -------------------------------------------------------------
    @property
    def connection(self) -> pika.BlockingConnection:
        """The calling thread's producer connection, opened on first use."""
        state = self.state
        if state.connection is None or not state.connection.is_open:
            self._drop_producer_connection()
            state.connection, state.target = self.targets.connect()
            with self._connections_lock:
                self.connections.add(state.connection)
        elif time.monotonic() - state.last_used > _IDLE_CHECK_SECONDS:
            # Let pika read what arrived while idle, so a connection the server closed is
            # noticed before a publish is written into it.
            state.connection.process_data_events(time_limit=0)
            state.last_polled = time.monotonic()
        state.last_used = time.monotonic()
        return state.connection

    @connection.deleter
    def connection(self) -> None:
        """``del broker.connection`` closes the calling thread's producer connection (and its
        channels); the next use opens a new one. Deleting it again does nothing."""
        self._drop_producer_connection()

    @property
    def channel(self) -> Any:
        """The calling thread's producer channel (in confirm mode with ``confirm_delivery``)."""
        connection = self.connection
        state = self.state
        if state.channel is None or not state.channel.is_open:
            state.channel = connection.channel()
            if self.confirm_delivery:
                state.channel.confirm_delivery()
        return state.channel

    @channel.deleter
    def channel(self) -> None:
        """``del broker.channel`` closes the calling thread's producer channel; the next use
        opens a new one. Deleting it again does nothing."""
        state = self.state
        channel, state.channel = state.channel, None
        close_quietly(channel)

    def _batch_channel(self) -> Any:
        connection = self.connection
        state = self.state
        if state.batch_channel is None or not state.batch_channel.is_open:
            state.batch_channel = connection.channel()
            state.batch_channel.tx_select()
        return state.batch_channel

    def _drop_producer_connection(self, error: BaseException | None = None) -> None:
        state = self.state
        connection = state.connection
        if connection is not None and isinstance(
            error, pika.exceptions.AMQPConnectionError | OSError
        ):
            self.targets.lost(state.target)
        state.connection = state.channel = state.batch_channel = None
        state.declared = set()
        if connection is not None:
            with self._connections_lock:
                self.connections.discard(connection)
            close_quietly(connection)

    def retry(self, action: Callable[[], T], what: str) -> T:
        """Run ``action`` on the producer connection, reconnecting (and failing over) and
        retrying with backoff for ``retry_timeout`` ms; ``what`` names it in the error."""
        return retry_for(
            action,
            timeout_ms=self.retry_timeout,
            what=what,
            targets=self.targets,
            on_error=lambda error: self._drop_producer_connection(error),
        )

    def close(self) -> None:
        """Close every producer connection this broker opened (consumers close their own)."""
        _ignore_scary_pika_logs()
        with self._connections_lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:
            close_quietly(connection)
        self.state = _ProducerState()

    # -- declaration ----------------------------------------------------------------------
    def declare_queue(self, queue_name: str, *, ensure: bool = False) -> None:
        """Declare ``queue_name`` (with its ``.DQ`` and ``.XQ``); ``ensure=True`` also
        creates them on the server now rather than on first use."""
        canonical = q_name(queue_name)
        if canonical not in self.queues:
            validate_queue_name(canonical)
            self.emit_before("declare_queue", canonical)
            self.queues[canonical] = None
            self.emit_after("declare_queue", canonical)
            delayed = dq_name(canonical)
            self.delay_queues.add(delayed)
            self.emit_after("declare_delay_queue", delayed)
        if ensure:
            self.retry(lambda: self._ensure_declared(self.channel, canonical), "declare queues")

    def _queue_arguments(self, canonical: str) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": xq_name(canonical),
        }
        if self.max_priority:
            arguments["x-max-priority"] = self.max_priority
        return arguments

    def declare_on_channel(self, channel: Any, canonical: str) -> tuple[int, int, int]:
        """Declare ``canonical``, its ``.DQ`` and ``.XQ`` on ``channel``; returns their ready
        message counts. Raises :class:`BrokerError` when a queue exists with other arguments."""
        declarations = [
            (canonical, self._queue_arguments(canonical)),
            (dq_name(canonical), self._queue_arguments(canonical)),
            (xq_name(canonical), {"x-message-ttl": self.dead_letter_ttl}),
        ]
        counts = []
        for name, arguments in declarations:
            try:
                frame = channel.queue_declare(name, durable=True, arguments=arguments)
            except pika.exceptions.ChannelClosedByBroker as e:
                if e.reply_code != 406:
                    raise
                raise BrokerError(
                    f"RabbitMQ queue {name!r} already exists with other arguments than "
                    f"{arguments} ({e.reply_text}). Use the same max_priority as the "
                    "program that declared it, or delete the queue."
                ) from None
            counts.append(frame.method.message_count)
        return counts[0], counts[1], counts[2]

    def _ensure_declared(self, channel: Any, canonical: str) -> None:
        if canonical not in self.state.declared:
            self.declare_on_channel(channel, canonical)
            self.state.declared.add(canonical)

    def forget_declared(self, canonical: str) -> None:
        """Make the calling thread declare ``canonical`` again before its next publish."""
        self.state.declared.discard(canonical)

    # -- enqueue --------------------------------------------------------------------------
    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Publish ``message`` (to ``.DQ`` with an ``eta`` when ``delay`` ms is given)."""
        canonical, queue_name, message = self._prepare(message, delay)
        self.emit_before("enqueue", message, delay)
        body, properties = message.encode(), self._properties(message)
        if not self._publish_on_ready_channel(canonical, queue_name, body, properties):

            def publish() -> None:
                channel = self.channel
                self._ensure_declared(channel, canonical)
                channel.basic_publish(
                    exchange="",
                    routing_key=queue_name,
                    body=body,
                    properties=properties,
                    mandatory=self.confirm_delivery,  # unroutable → error, only in confirm mode
                )

            self.retry(publish, f"enqueue message {message.message_id} to {queue_name!r}")
        self.emit_after("enqueue", message, delay)
        return message

    def _publish_on_ready_channel(
        self, canonical: str, routing_key: str, body: bytes, properties: pika.BasicProperties
    ) -> bool:
        """Publish at once on the calling thread's channel when it is open, was used within
        the last second and has declared ``canonical``: the common case, without the retry
        machinery. Returns False when the caller must take the retrying path instead (nothing
        was ready, or the connection broke and was dropped)."""
        state = self.state
        channel = state.channel
        now = time.monotonic()
        if (
            channel is None
            or now - state.last_used > _IDLE_CHECK_SECONDS
            or canonical not in state.declared
            or not channel.is_open
        ):
            return False
        try:
            # Straight to the socket, unless confirms are on or pika last read the connection
            # a while ago: then through pika, whose poll also reads what the server sent.
            if (
                self.confirm_delivery
                or now - state.last_polled > _IDLE_CHECK_SECONDS
                or not publish_direct(channel, routing_key, body, properties)
            ):
                channel.basic_publish(
                    exchange="",
                    routing_key=routing_key,
                    body=body,
                    properties=properties,
                    mandatory=self.confirm_delivery,  # as in the retrying path
                )
                state.last_polled = now
        except RETRYABLE_ERRORS as e:
            logger.debug("Publishing to %r failed (%r); reconnecting.", routing_key, e)
            self._drop_producer_connection(e)
            return False
        state.last_used = now
        return True

    def enqueue_many(
        self, messages: Iterable[Message[Any]], *, delay: int | None = None
    ) -> list[Message[Any]]:
        """Publish several messages on one channel; with ``confirm_delivery`` they are
        committed together (one AMQP transaction) instead of confirmed one by one.

        Without confirms, a connection lost mid-batch makes the retry publish the whole batch
        again (at-least-once)."""
        prepared = [self._prepare(message, delay) for message in messages]
        for _, _, message in prepared:
            self.emit_before("enqueue", message, delay)
        payloads = [(q, m.encode(), self._properties(m)) for _, q, m in prepared]

        def publish_all() -> None:
            channel = self._batch_channel() if self.confirm_delivery else self.channel
            for canonical in {canonical for canonical, _, _ in prepared}:
                self._ensure_declared(channel, canonical)
            for queue_name, body, properties in payloads:
                channel.basic_publish(
                    exchange="", routing_key=queue_name, body=body, properties=properties
                )
            if self.confirm_delivery:
                channel.tx_commit()

        if payloads:
            self.retry(publish_all, f"enqueue {len(payloads)} messages")
        for _, _, message in prepared:
            self.emit_after("enqueue", message, delay)
        return [message for _, _, message in prepared]

    def _prepare(self, message: Message[Any], delay: int | None) -> tuple[str, str, Message[Any]]:
        canonical = q_name(message.queue_name)
        self.declare_queue(canonical)
        queue_name = message.queue_name
        if delay:
            queue_name = dq_name(canonical)
            message = message.copy(queue_name=queue_name)
            message.options["eta"] = current_millis() + int(delay)
        priority = message.options.get("broker_priority")
        if priority is not None and not (isinstance(priority, int) and 0 <= priority <= 255):
            raise ValueError(f"broker_priority must be an integer from 0 to 255, got {priority!r}")
        return canonical, queue_name, message

    @staticmethod
    def _properties(message: Message[Any]) -> pika.BasicProperties:
        return pika.BasicProperties(
            delivery_mode=2,
            priority=message.options.get("broker_priority"),
            message_id=message.message_id,
        )

    # -- consume, promote, redelay --------------------------------------------------------
    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        """A consumer of ``queue_name`` on its own connection, holding at most ``prefetch``
        unacked messages; raises :class:`ConnectionClosed` when RabbitMQ is unreachable."""
        self.declare_queue(queue_name)
        return self.consumer_class(self, queue_name, prefetch, timeout)

    def promote(self, consumer: Consumer, message: MessageProxy) -> None:
        """Publish a due delayed message to its queue and ack it, in order on one channel."""
        if not isinstance(consumer, RabbitmqConsumer):
            return super().promote(consumer, message)
        target = message.message.copy(queue_name=q_name(message.queue_name))
        target.options.pop("eta", None)
        self.emit_before("enqueue", target, None)
        if consumer.publish_then_ack(
            message, target.queue_name, target.encode(), self._properties(target)
        ):
            self.emit_after("enqueue", target, None)

    def redelay(self, consumer: Consumer, message: MessageProxy) -> None:
        """Put a held delayed message back on its ``.DQ`` with the same eta, then ack it, so
        no delivery stays unacked long enough to trip RabbitMQ's consumer_timeout."""
        if not isinstance(consumer, RabbitmqConsumer):
            raise TypeError(f"redelay needs a RabbitMQ consumer, got {consumer!r}")
        consumer.publish_then_ack(
            message,
            dq_name(message.queue_name),
            message.message.encode(),
            self._properties(message.message),
        )

    def track_in_flight(self, queue_name: str, delta: int) -> None:
        """Count unacked deliveries held by this broker's consumers (for stats and join)."""
        with self._in_flight_lock:
            self._in_flight[queue_name] = self._in_flight.get(queue_name, 0) + delta

    def held(self, queue_name: str) -> int:
        """Deliveries of ``queue_name`` this broker's consumers hold unacked."""
        with self._in_flight_lock:
            return self._in_flight.get(queue_name, 0)

    # -- inspection and maintenance (see :class:`~taskq.brokers.rabbitmq.admin.RabbitmqAdmin`)
    def get_queue_message_counts(self, queue_name: str) -> tuple[int, int, int]:
        """Ready messages in the queue, its delay queue and its dead-letter queue."""
        return self.admin.get_queue_message_counts(queue_name)

    def flush(self, queue_name: str) -> None:
        """Drop every message of ``queue_name``, its delay queue and its dead letters."""
        self.admin.flush(queue_name)

    def flush_all(self) -> None:
        """Flush every declared queue."""
        self.admin.flush_all()

    def join(
        self,
        queue_name: str,
        min_successes: int = 10,
        idle_time: int = 100,
        *,
        timeout: int | None = None,
    ) -> None:
        """Wait until ``queue_name`` and its delay queue are empty and nothing this broker's
        consumers fetched is unacked, ``min_successes`` polls in a row, ``idle_time`` ms
        apart; raise :class:`~taskq.errors.QueueJoinTimeout` after ``timeout`` ms."""
        self.admin.join(queue_name, min_successes, idle_time, timeout=timeout)

    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per declared queue: ready, delayed, in_flight and dead counts."""
        return self.admin.queue_stats()

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first."""
        return self.admin.dead_letter_messages(queue_name, limit=limit)

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move the given dead letters back onto ``queue_name``; returns how many moved."""
        return self.admin.requeue_dead_letters(queue_name, message_ids)

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        return self.admin.purge_dead_letters(queue_name)

    def __repr__(self) -> str:
        return f"<RabbitmqBroker {self.targets.describe()}>"
