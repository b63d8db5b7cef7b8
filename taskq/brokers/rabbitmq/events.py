"""Lifecycle events on RabbitMQ: a transient fanout exchange, one exclusive queue per listener.

RabbitMQ keeps no history of a fanout exchange, so ``recent_events`` is always empty on this
broker; listeners see what is published while they are subscribed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pika

from ...events.transport import EventStream
from .connection import RETRYABLE_ERRORS, close_quietly, logger

if TYPE_CHECKING:
    from .connection import Targets

#: The fanout exchange events are published to.
EVENTS_EXCHANGE = "taskq.events"
#: A listener that falls this far behind loses its oldest events, never slows publishers.
LISTENER_MAX_BACKLOG = 100_000
#: Transient, non-persistent: events are for live viewers, not a record.
EVENT_PROPERTIES = pika.BasicProperties(delivery_mode=1, content_type="application/json")


def declare_events_exchange(channel: Any) -> None:
    """Declare the (non-durable) events exchange on ``channel``."""
    channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="fanout", durable=False)


def publish_event_on(channel: Any, event: dict[str, Any]) -> None:
    """Publish one event; the caller swallows errors (events are fire-and-forget)."""
    body = json.dumps(event, separators=(",", ":"), default=str).encode()
    channel.basic_publish(EVENTS_EXCHANGE, routing_key="", body=body, properties=EVENT_PROPERTIES)


class RabbitmqEvents:
    """Publishes events on the calling thread's producer connection (one events channel per
    thread, reopened when its connection was replaced); listeners get their own connection.

    Composed into :class:`~taskq.brokers.rabbitmq.RabbitmqBroker` as its ``events``.
    """

    def __init__(self, connection: Callable[[], pika.BlockingConnection], targets: Targets) -> None:
        self._connection = connection
        self.targets = targets
        self._local = threading.local()

    def publish(self, event: dict[str, Any]) -> None:
        """Publish ``event`` to the ``taskq.events`` fanout exchange; never raises."""
        try:
            connection = self._connection()
            channel = getattr(self._local, "channel", None)
            if channel is None or not channel.is_open:
                channel = self._local.channel = connection.channel()
                declare_events_exchange(channel)
            publish_event_on(channel, event)
        except Exception as e:
            logger.debug("Dropped an event: %r", e)
            self._local.channel = None

    def subscribe(self, timeout: int) -> EventStream:
        """Events published from now on, through an exclusive auto-delete queue."""
        return RabbitmqEventStream(self.targets, timeout)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Always empty: a RabbitMQ fanout exchange keeps no history."""
        return []


class RabbitmqEventStream(EventStream):
    """Events from an exclusive, auto-deleted queue bound to the events exchange.

    ``next()`` waits up to ``timeout`` ms and yields None when idle. A lost connection is
    reopened on the next call (events published meanwhile are missed).
    """

    def __init__(self, targets: Targets, timeout: int) -> None:
        self.targets = targets
        self.timeout = timeout / 1000
        self.connection: pika.BlockingConnection | None = None
        self.channel: Any = None
        self._deliveries: Any = None
        self._open()

    def _open(self) -> None:
        self.connection, _ = self.targets.connect()
        self.channel = self.connection.channel()
        declare_events_exchange(self.channel)
        result = self.channel.queue_declare(
            "",
            exclusive=True,
            auto_delete=True,
            arguments={"x-max-length": LISTENER_MAX_BACKLOG, "x-overflow": "drop-head"},
        )
        queue_name = result.method.queue
        self.channel.queue_bind(queue_name, EVENTS_EXCHANGE)
        self._deliveries = self.channel.consume(
            queue_name, auto_ack=True, inactivity_timeout=self.timeout
        )

    def __next__(self) -> dict[str, Any] | None:
        try:
            if self._deliveries is None:
                self._open()
            method, _, body = next(self._deliveries)
        except RETRYABLE_ERRORS as e:
            logger.debug("Event stream lost its connection: %r", e)
            self.close()
            time.sleep(self.timeout)
            return None
        if method is None:
            return None
        try:
            event = json.loads(body)
        except ValueError:
            logger.warning("Ignoring an event that is not JSON: %r", body[:200])
            return None
        return event if isinstance(event, dict) else None

    def close(self) -> None:
        """Stop listening; RabbitMQ deletes the listener's queue."""
        close_quietly(self.connection)
        self.connection = self.channel = self._deliveries = None
