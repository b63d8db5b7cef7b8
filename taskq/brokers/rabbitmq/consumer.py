"""The RabbitMQ consumer: one connection and channel per consumer, settled from any thread.

pika connections are not thread-safe. The thread that creates a consumer owns its connection and
drives it from ``__next__``; acks, nacks and requeues from worker threads are queued for that
thread. While that thread is busy handing out deliveries pika has buffered, it runs the queued
work itself before it next waits on the socket; only while it waits is it woken, with one
``add_callback_threadsafe`` per batch. An ack arriving then waits up to :data:`ACK_DELAY` for
others (unless a quarter of the prefetch is already waiting, or nothing else is in flight), so
acks of jobs finishing one by one leave together and RabbitMQ answers with deliveries in
bursts, not one wake-up per message. A batch of acks covering every delivery up to some tag
goes out as one ``basic.ack`` with ``multiple=True``.

Acks are written on the channel's underlying asynchronous channel (pika's ``BlockingChannel``
would poll the socket after every one); they leave with the next poll, which comes at the
latest when this consumer asks for its next delivery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import pika
import pika.exceptions

from ...broker import Consumer, MessageProxy
from ...common import generate_unique_id, q_name, xq_name
from ...errors import ConnectionClosed, DecodeError
from ...message import Message
from ..shared import decode_or_dead_letter, nack_reason
from .connection import RETRYABLE_ERRORS, close_quietly, is_channel_error, logger
from .dead_letters import dead_letter_properties
from .deliveries import DeliveryReader
from .publish import PIKA_INTERNALS

if TYPE_CHECKING:
    from .connection import Targets


class ConsumerHost(Protocol):
    """What a :class:`RabbitmqConsumer` uses of its broker
    (:class:`~taskq.brokers.rabbitmq.RabbitmqBroker` is one)."""

    targets: Targets

    def declare_on_channel(self, channel: Any, canonical: str) -> tuple[int, int, int]:
        """Declare the queue, its ``.DQ`` and ``.XQ`` on ``channel``."""
        ...

    def forget_declared(self, canonical: str) -> None:
        """Make producers declare ``canonical`` again before their next publish."""

    def consumer_opened(self, consumer: RabbitmqConsumer) -> None:
        """Count ``consumer``'s unacked deliveries from now on (for stats and join)."""


#: Seconds an ack may wait for others to go out with it while the consumer waits on the socket.
ACK_DELAY = 0.002


class RabbitmqMessageProxy(MessageProxy):
    """A consumed message plus its delivery tag and the consumer it belongs to."""

    __slots__ = ("redelivered", "_tag", "_owner")

    def __init__(
        self, message: Message[Any], *, redelivered: bool, tag: int, owner: RabbitmqConsumer
    ) -> None:
        super().__init__(message)
        self.redelivered = redelivered
        self._tag = tag
        self._owner = owner


class RabbitmqConsumer(Consumer):
    """Consumes one queue on its own connection; never holds more than ``prefetch`` unacked."""

    def __init__(self, broker: ConsumerHost, queue_name: str, prefetch: int, timeout: int) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.closed = False
        self._owner_thread = threading.get_ident()
        #: Delivery tags handed out and not settled yet (a set's add and discard are atomic,
        #: so the fetching and settling threads need no lock for it).
        self._unacked: set[int] = set()
        self._lock = threading.Lock()
        #: Delivery tags RabbitMQ still counts as unsettled on this channel (touched only by
        #: the thread driving the connection); ``multiple=True`` acks never reach past them.
        self._outstanding: set[int] = set()
        #: Settlements queued by other threads, run in order by the connection's thread.
        self._pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        #: None, or how the owning thread was asked to run them: "now", or "later" (an ack
        #: waiting up to ACK_DELAY for company).
        self._drain_scheduled: str | None = None
        #: This many pending acks are sent at once, without waiting for ACK_DELAY.
        self._ack_batch = max(1, prefetch // 4)
        #: True while the owning thread waits (or may wait) on the socket for a delivery.
        self._waiting = True
        try:
            self.connection, self._target = broker.targets.connect()
        except RETRYABLE_ERRORS as e:
            raise ConnectionClosed(
                f"Could not connect to RabbitMQ at {broker.targets.describe()}: {e!r}"
            ) from None
        try:
            self.channel = self.connection.channel()
            #: Reads deliveries off the socket in place of pika (None: pika reads them).
            self._reader = DeliveryReader.install(self.channel)
            broker.declare_on_channel(self.channel, q_name(queue_name))
            # Per channel (one consumer each): a new limit then applies at once, without
            # re-subscribing (see set_prefetch).
            self.channel.basic_qos(prefetch_count=prefetch, global_qos=True)
            self._inactivity_timeout = timeout / 1000
            self._deliveries = self.channel.consume(
                queue_name, inactivity_timeout=self._inactivity_timeout
            )
        except RETRYABLE_ERRORS as e:
            close_quietly(self.connection)
            raise ConnectionClosed(
                f"Could not consume {queue_name!r} on {broker.targets.describe()}: {e!r}"
            ) from None
        broker.consumer_opened(self)

    # -- fetching -------------------------------------------------------------------------
    def __next__(self) -> RabbitmqMessageProxy | None:
        if not self.holds_more():
            with self._lock:
                run_pending = bool(self._pending)
                self._waiting = True
            if run_pending:
                self._drain_pending()
        try:
            method, properties, body = next(self._deliveries)
            self._waiting = False
        except RETRYABLE_ERRORS as e:
            self._lost(e)
            raise ConnectionClosed(
                f"Lost the consumer of {self.queue_name!r} on RabbitMQ at "
                f"{self.broker.targets.labels[self._target]}: {e!r}"
            ) from None
        if method is None:
            return None
        tag = method.delivery_tag
        self._outstanding.add(tag)
        message: Message[Any] | None
        try:
            message = Message.decode(body)
        except DecodeError:  # rare: decoded again there to log it and dead-letter it
            message = self._dead_letter_undecodable(tag, body, properties)
        if message is None:
            return None
        self._unacked.add(tag)
        return RabbitmqMessageProxy(message, redelivered=method.redelivered, tag=tag, owner=self)

    def _dead_letter_undecodable(
        self, tag: int, body: bytes, properties: Any
    ) -> Message[Any] | None:
        """Log and dead-letter a delivery whose body did not decode (None, as it decodes no
        better the second time)."""
        message_id = getattr(properties, "message_id", None)

        def dead_letter(reason: str) -> None:
            self._on_connection(
                self._publish_then_ack,
                tag,
                xq_name(self.queue_name),
                body,
                dead_letter_properties(message_id or generate_unique_id(), reason),
            )

        return decode_or_dead_letter(
            body, dead_letter, logger=logger, queue_name=self.queue_name, label=message_id or ""
        )

    def set_prefetch(self, prefetch: int) -> None:
        """Hold up to ``prefetch`` unacked deliveries from now on.

        The limit is the channel's (``global`` in AMQP terms; this channel has one consumer),
        which RabbitMQ applies at once: nothing is re-subscribed, nothing handed back.
        """
        try:
            self.channel.basic_qos(prefetch_count=prefetch, global_qos=True)
            self._ack_batch = max(1, prefetch // 4)
        except RETRYABLE_ERRORS as e:
            self._lost(e)
            raise ConnectionClosed(
                f"Lost the consumer of {self.queue_name!r} while changing its prefetch: {e!r}"
            ) from None

    def holds_more(self) -> bool:
        """Whether pika holds a delivery it can hand out without reading the socket (private
        pika state: when it is missing, every call counts as a wait, which is always safe)."""
        generator = getattr(self.channel, "_queue_consumer_generator", None)
        return bool(getattr(generator, "pending_events", None))

    # -- settling (from any thread) -------------------------------------------------------
    def owns(self, message: MessageProxy) -> bool:
        """True when ``message`` came from this consumer's live channel and is still unacked."""
        return (
            isinstance(message, RabbitmqMessageProxy)
            and message._owner is self
            and not self.closed
            and message._tag in self._unacked
        )

    def ack(self, message: MessageProxy) -> None:
        """Acknowledge ``message``: RabbitMQ deletes it."""
        if self._settle(message):
            self._on_connection(self._ack_tag, message._tag)  # type: ignore[attr-defined]

    def nack(self, message: MessageProxy) -> None:
        """Dead-letter ``message``: publish it with its reason to the ``.XQ`` queue, then ack."""
        if not self._settle(message):
            return
        reason = nack_reason(message)
        properties = dead_letter_properties(
            message.message_id, reason, message.options.get("broker_priority")
        )
        self._on_connection(
            self._publish_then_ack,
            message._tag,  # type: ignore[attr-defined]
            xq_name(self.queue_name),
            message.message.encode(),
            properties,
        )

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        """Give fetched-but-unstarted messages back to RabbitMQ (they keep their position)."""
        for message in messages:
            if self._settle(message):
                self._on_connection(self._requeue_tag, message._tag)  # type: ignore[attr-defined]

    def publish_then_ack(
        self, message: MessageProxy, routing_key: str, body: bytes, properties: Any
    ) -> bool:
        """Publish ``body`` to ``routing_key`` on this consumer's channel, then ack ``message``.

        Both go out in order on one channel, so RabbitMQ routes the copy before it drops the
        original. Returns False (doing nothing) when ``message`` belongs to an older connection:
        RabbitMQ redelivers that one by itself.
        """
        if not self._settle(message):
            return False
        self._on_connection(
            self._publish_then_ack,
            message._tag,  # type: ignore[attr-defined]
            routing_key,
            body,
            properties,
        )
        return True

    def _publish_then_ack(
        self, tag: int, routing_key: str, body: bytes, properties: pika.BasicProperties
    ) -> None:
        self.channel.basic_publish(
            exchange="", routing_key=routing_key, body=body, properties=properties
        )
        self._ack_tag(tag)

    def _settler(self) -> Any:
        """The channel acks are written on: pika's asynchronous channel under the blocking
        one on the pika releases taskq is tested with, else the blocking channel itself."""
        return self.channel._impl if PIKA_INTERNALS else self.channel

    def _ack_tag(self, tag: int) -> None:
        self._outstanding.discard(tag)
        self._settler().basic_ack(tag)

    def _requeue_tag(self, tag: int) -> None:
        self._outstanding.discard(tag)
        self._settler().basic_nack(tag, requeue=True)

    def _ack_tags(self, tags: list[int]) -> None:
        """Ack ``tags`` with as few frames as possible: one ``multiple=True`` ack for every tag
        below the oldest delivery still being worked on, single acks for the rest."""
        outstanding = self._outstanding
        acking = set(tags)
        busy = outstanding - acking
        oldest_busy = min(busy) if busy else None
        covered = [t for t in acking if oldest_busy is None or t < oldest_busy]
        if len(covered) > 1:
            self._settler().basic_ack(max(covered), multiple=True)
            outstanding.difference_update(covered)
            acking.difference_update(covered)
        for tag in sorted(acking):
            self._ack_tag(tag)

    def _settle(self, message: MessageProxy) -> bool:
        if not self.owns(message):
            logger.debug(
                "Not settling message %s: it belongs to a closed connection and RabbitMQ "
                "redelivers it.",
                message.message_id,
            )
            return False
        self._unacked.discard(message._tag)  # type: ignore[attr-defined]
        return True

    def _on_connection(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function`` on the thread that owns the connection (queued from others)."""
        if threading.get_ident() == self._owner_thread:
            try:
                function(*args)
            except RETRYABLE_ERRORS as e:
                self._lost(e)
                raise ConnectionClosed(f"Lost RabbitMQ while settling a message: {e!r}") from None
            return
        with self._lock:
            pending = self._pending
            pending.append((function, args))
            if not self._waiting or self._drain_scheduled == "now":
                return  # the owning thread runs it before it next waits, or is about to
            urgent = (
                function != self._ack_tag
                or len(pending) >= self._ack_batch
                or not self._unacked  # nothing else in flight: no ack will come to join it
            )
            if not urgent and self._drain_scheduled == "later":
                return
            self._drain_scheduled = "now" if urgent else "later"
        try:
            self.connection.add_callback_threadsafe(
                self._drain_pending if urgent else self._drain_after_delay
            )
        except RETRYABLE_ERRORS as e:
            with self._lock:
                self._drain_scheduled = None
            raise ConnectionClosed(
                f"The consumer connection of {self.queue_name!r} is closed: {e!r}"
            ) from None

    def _drain_after_delay(self) -> None:
        """On the owning thread: send the pending acks once ACK_DELAY has passed."""
        self.connection.call_later(ACK_DELAY, self._drain_pending)

    def _drain_pending(self) -> None:
        """Run every queued settlement in order; consecutive acks are sent together."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._drain_scheduled = None
        acks: list[int] = []
        for function, args in pending:
            if function == self._ack_tag:  # bound methods compare by function and instance
                acks.append(args[0])
                continue
            if acks:
                self._guarded(self._ack_tags, acks)
                acks = []
            self._guarded(function, *args)
        if acks:
            self._guarded(self._ack_tags, acks)

    def _guarded(self, function: Callable[..., Any], *args: Any) -> None:
        try:
            function(*args)
        except Exception as e:
            logger.warning(
                "Could not settle a message on %s (%r); RabbitMQ will redeliver it.",
                self.queue_name,
                e,
            )

    # -- closing --------------------------------------------------------------------------
    def _lost(self, error: BaseException) -> None:
        if is_channel_error(error, 404):
            self.broker.forget_declared(q_name(self.queue_name))
        self.broker.targets.lost(self._target)
        self._release_unacked()

    def _release_unacked(self) -> None:
        self.closed = True
        self._unacked.clear()

    @property
    def held(self) -> int:
        """Deliveries handed out and not settled yet (RabbitMQ requeues them if this consumer's
        connection closes first)."""
        return 0 if self.closed else len(self._unacked)

    def close(self) -> None:
        """Run pending acks, then close the connection; RabbitMQ requeues anything unacked."""
        if self.closed and not self.connection.is_open:
            return
        try:
            done = threading.Event()
            self._waiting = True  # the owning thread fetches no more: wake whoever drives
            self.connection.add_callback_threadsafe(self._drain_pending)
            self.connection.add_callback_threadsafe(done.set)
            deadline = time.monotonic() + 5
            while not done.is_set() and time.monotonic() < deadline:
                self.connection.process_data_events(time_limit=0.05)
        except Exception as e:
            logger.debug("Could not flush pending acks of %s: %r", self.queue_name, e)
        self._release_unacked()
        close_quietly(self.channel)
        close_quietly(self.connection)
