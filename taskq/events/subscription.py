"""Follow message lifecycle events: an iterator, a callback thread, or recent history.

Events are published by the :class:`taskq.middleware.events.Events` middleware (add it to the
broker, or set ``TASKQ_EVENTS=1`` when the broker comes from a URL). Each is a dict with
``event`` (enqueued, started, succeeded, failed, retried, dead_lettered, skipped),
``message_id``, ``queue_name``, ``actor_name``, ``timestamp`` (ms), ``worker`` (host:pid)
and event-specific fields (``duration_ms``, ``exception_type``, ``reason``, ...).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..common import q_name
from ..global_broker import get_broker
from .schema import EventKind

if TYPE_CHECKING:
    from ..broker import Broker
    from .transport import EventStream

logger = logging.getLogger("taskq.events")

#: Every kind of event, in the order a message normally lives them (see :class:`EventKind`).
EVENT_KINDS = tuple(kind.value for kind in EventKind)

Event = dict[str, Any]


def _matches(event: Event, queue: str | None, actor: str | None) -> bool:
    if queue is not None and q_name(str(event.get("queue_name", ""))) != q_name(queue):
        return False
    return actor is None or event.get("actor_name") == actor


class Subscription(Iterator[Event]):
    """Live events from the moment of subscribing. Iterating blocks until the next matching
    event and ends when :meth:`close` is called (from any thread); :meth:`poll` waits at most
    a given time instead."""

    def __init__(
        self, stream: EventStream, *, queue: str | None = None, actor: str | None = None
    ) -> None:
        self._stream = stream
        self.queue = queue
        self.actor = actor
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed.is_set()

    def poll(self, timeout: int | None = None) -> Event | None:
        """The next matching event, or None if none arrives within about ``timeout`` ms (one
        wait on the stream when None)."""
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        while not self.closed:
            event = next(self._stream, None)
            if event is not None and _matches(event, self.queue, self.actor):
                return event
            if deadline is None:
                if event is None:
                    return None
            elif time.monotonic() >= deadline:
                return None
        return None

    def __next__(self) -> Event:
        while not self.closed:
            event = self.poll()
            if event is not None:
                return event
        raise StopIteration

    def close(self) -> None:
        """Stop receiving events; a blocked iteration ends within the stream's timeout."""
        if not self.closed:
            self._closed.set()
            try:
                self._stream.close()
            except Exception:
                logger.debug("Error while closing an event stream.", exc_info=True)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscribe(
    broker: Broker | None = None,
    *,
    queue: str | None = None,
    actor: str | None = None,
    timeout: int = 1000,
) -> Subscription:
    """Subscribe to live events of ``broker`` (default: the current broker), optionally only
    those of one ``queue`` and/or ``actor``. ``timeout`` (ms) bounds each wait on the broker,
    so :meth:`Subscription.close` takes effect within it."""
    if broker is None:
        broker = get_broker()
    return Subscription(broker.subscribe_events(timeout=timeout), queue=queue, actor=actor)


class CallbackSubscription:
    """A daemon thread calling ``fn(event)`` for each event; :meth:`stop` ends it."""

    def __init__(self, subscription: Subscription, fn: Callable[[Event], Any]) -> None:
        self.subscription = subscription
        self.fn = fn
        self.thread = threading.Thread(target=self._run, name="taskq-events-callback", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.subscription:
            try:
                self.fn(event)
            except Exception:
                logger.exception("Event callback %r failed on %s.", self.fn, event.get("event"))

    @property
    def running(self) -> bool:
        """True until the thread has stopped."""
        return self.thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop delivering events and wait up to ``timeout`` seconds for the thread to end."""
        self.subscription.close()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)


def subscribe_callback(
    broker: Broker | None,
    fn: Callable[[Event], Any],
    *,
    queue: str | None = None,
    actor: str | None = None,
    timeout: int = 250,
) -> CallbackSubscription:
    """Call ``fn(event)`` from a daemon thread for every matching live event; errors raised by
    ``fn`` are logged and skipped. Returns a handle whose ``stop()`` ends the thread."""
    return CallbackSubscription(subscribe(broker, queue=queue, actor=actor, timeout=timeout), fn)


def history(
    broker: Broker | None = None,
    limit: int = 100,
    *,
    queue: str | None = None,
    actor: str | None = None,
) -> list[Event]:
    """Up to ``limit`` most recent matching events, oldest first (brokers without history
    return only what this process published)."""
    if broker is None:
        broker = get_broker()
    fetch = limit if queue is None and actor is None else max(limit * 10, 1000)
    events = [e for e in broker.recent_events(limit=fetch) if _matches(e, queue, actor)]
    return events[-limit:] if limit else []
