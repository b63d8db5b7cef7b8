"""The RabbitMQ broker, on pika, with Dramatiq's queue layout (see :mod:`.topology`) and wire
format: messages are persistent JSON bodies published to the default exchange with the queue
name as routing key.

Producers use one connection per thread; every consumer owns its connection. Unlike Dramatiq,
a worker never holds a delayed message unacked longer than ``max_delay_hold`` ms: it puts it back
on the delay queue (same eta), so delays longer than RabbitMQ's ``consumer_timeout`` work.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pika
import pika.exceptions

from ...broker import Broker, Consumer, MessageProxy
from ...common import current_millis, dq_name, q_name, validate_queue_name
from ...message import Message
from ...middleware.middleware import Middleware
from ..admin_delegation import AdminDelegation
from .admin import RabbitmqAdmin
from .connection import (
    RETRYABLE_ERRORS,
    ProducerState,
    Targets,
    close_quietly,
    ignore_scary_pika_logs,
    logger,
    retry_for,
)
from .consumer import RabbitmqConsumer, RabbitmqMessageProxy
from .dead_letters import DEAD_MESSAGE_TTL
from .events import RabbitmqEvents
from .publish import message_properties, publish_on_ready_channel
from .topology import checked_dead_letter_ttl, checked_max_priority, declare_queue_set

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


class RabbitmqBroker(AdminDelegation, Broker):
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
    admin: RabbitmqAdmin

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
        self.max_priority = checked_max_priority(max_priority)
        self.dead_letter_ttl = checked_dead_letter_ttl(dead_letter_ttl)
        self.targets = Targets(url, parameters, **kwargs)
        self.confirm_delivery = confirm_delivery
        self.retry_timeout = retry_timeout
        self.state = ProducerState()
        self.connections: set[pika.BlockingConnection] = set()
        self._connections_lock = threading.Lock()
        #: Open consumers, whose unacked deliveries :meth:`held` counts.
        self._consumers: weakref.WeakSet[RabbitmqConsumer] = weakref.WeakSet()
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

    def ping(self) -> None:
        """Open the calling thread's producer connection (retrying as :meth:`retry` does),
        or raise: what ``taskq worker`` checks before it starts consuming."""
        self.retry(lambda: self.connection, "connect")

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
        ignore_scary_pika_logs()
        with self._connections_lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:
            close_quietly(connection)
        self.state = ProducerState()

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

    def declare_on_channel(self, channel: Any, canonical: str) -> tuple[int, int, int]:
        """Declare ``canonical``, its ``.DQ`` and ``.XQ`` on ``channel``; returns their ready
        message counts. Raises :class:`BrokerError` when a queue exists with other arguments."""
        return declare_queue_set(
            channel,
            canonical,
            max_priority=self.max_priority,
            dead_letter_ttl=self.dead_letter_ttl,
        )

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
        body, properties = message.encode(), message_properties(message)
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
        """The fast path (:func:`~taskq.brokers.rabbitmq.publish.publish_on_ready_channel`);
        False when the caller must take the retrying path instead (nothing was ready, or the
        connection broke and was dropped)."""
        try:
            return publish_on_ready_channel(
                self.state,
                canonical,
                routing_key,
                body,
                properties,
                confirm_delivery=self.confirm_delivery,
                idle_seconds=_IDLE_CHECK_SECONDS,
            )
        except RETRYABLE_ERRORS as e:
            logger.debug("Publishing to %r failed (%r); reconnecting.", routing_key, e)
            self._drop_producer_connection(e)
            return False

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
        payloads = [(q, m.encode(), message_properties(m)) for _, q, m in prepared]

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
            message, target.queue_name, target.encode(), message_properties(target)
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
            message_properties(message.message),
        )

    def consumer_opened(self, consumer: RabbitmqConsumer) -> None:
        """Count ``consumer``'s unacked deliveries in :meth:`held` while it is open."""
        self._consumers.add(consumer)

    def held(self, queue_name: str) -> int:
        """Deliveries of ``queue_name`` this broker's consumers hold unacked."""
        return sum(c.held for c in list(self._consumers) if c.queue_name == queue_name)

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

    def __repr__(self) -> str:
        return f"<RabbitmqBroker {self.targets.describe()}>"
