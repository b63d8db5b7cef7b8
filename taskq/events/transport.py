"""The event stream interface, what a broker keeps its events in (:class:`BrokerEvents`), and
the in-process event bus used by the StubBroker."""

from __future__ import annotations

import collections
import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol


class EventStream(Iterator[dict[str, Any] | None]):
    """An iterator of lifecycle events; yields None after its timeout when idle."""

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> dict[str, Any] | None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Stop receiving events."""

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BrokerEvents(Protocol):
    """Where a broker keeps lifecycle events: each broker composes one (``events.py`` in its
    package) and hands it to :class:`Broker`; the in-process :class:`LocalEventBus` is the
    default."""

    def publish(self, event: dict[str, Any]) -> None:
        """Publish one event; fire-and-forget, never raises."""

    def subscribe(self, timeout: int) -> EventStream:
        """Events published from now on; ``next()`` waits up to ``timeout`` ms."""
        ...

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` most recent events, oldest first (empty where none are kept)."""
        ...


class LocalEventBus:
    """In-process events with a bounded history (the StubBroker's, and the default)."""

    def __init__(self, history: int = 10_000) -> None:
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)
        self.subscribers: list[_LocalEventStream] = []
        self.lock = threading.Lock()

    def publish(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.history.append(event)
            for subscriber in self.subscribers:
                subscriber.push(event)

    def subscribe(self, timeout: int) -> EventStream:
        stream = _LocalEventStream(self, timeout)
        with self.lock:
            self.subscribers.append(stream)
        return stream

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.history)[-limit:]


class _LocalEventStream(EventStream):
    def __init__(self, bus: LocalEventBus, timeout: int) -> None:
        self.bus = bus
        self.timeout = timeout / 1000
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=100_000)

    def push(self, event: dict[str, Any]) -> None:
        if not self.queue.full():  # a subscriber that stops reading loses events, not workers
            self.queue.put_nowait(event)

    def __next__(self) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=self.timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        with self.bus.lock:
            if self in self.bus.subscribers:
                self.bus.subscribers.remove(self)
