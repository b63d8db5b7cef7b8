"""Lifecycle events held by the TUI: a thread-safe inbox and a bounded, filterable history."""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Event names in lifecycle order, with the status shown for each.
STATUS_BY_EVENT = {
    "enqueued": "queued",
    "delayed": "delayed",
    "started": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "retried": "retried",
    "dead_lettered": "dead",
    "skipped": "skipped",
    "aborted": "aborted",
}
STATUSES = ["queued", "delayed", "running", "succeeded", "failed", "retried", "dead", "skipped"]

Event = dict[str, Any]


def event_status(event: Event) -> str:
    """The status an event puts its message in (``delayed`` for a delayed enqueue)."""
    name = str(event.get("event", "?"))
    if name == "enqueued" and (event.get("options") or {}).get("eta"):
        return "delayed"
    return STATUS_BY_EVENT.get(name, name)


def search_text(event: Event) -> str:
    """Lower-cased text a search matches: id, actor, queue, arguments and error."""
    cached = event.get("_search")
    if cached is None:
        parts = [
            event.get("message_id"),
            event.get("actor_name"),
            event.get("queue_name"),
            _compact(event.get("args")),
            _compact(event.get("kwargs")),
            event.get("exception_type"),
            event.get("exception"),
        ]
        cached = " ".join(str(p) for p in parts if p).lower()
        event["_search"] = cached
    return cached


def _compact(value: Any) -> str:
    if value in (None, [], {}):
        return ""
    try:
        return json.dumps(value, default=repr)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True)
class EventFilter:
    """Which events the tail shows; empty fields match everything."""

    queue: str = ""
    actor: str = ""
    status: str = ""
    text: str = ""

    def matches(self, event: Event) -> bool:
        """True when ``event`` passes every set field."""
        if self.queue and event.get("queue_name") != self.queue:
            return False
        if self.actor and event.get("actor_name") != self.actor:
            return False
        if self.status and event_status(event) != self.status:
            return False
        return not self.text or self.text.lower() in search_text(event)

    @property
    def active(self) -> bool:
        """True when any field is set."""
        return bool(self.queue or self.actor or self.status or self.text)


class EventInbox:
    """Where the subscriber thread drops events; the UI drains it in batches.

    Bounded: when the UI falls behind, the oldest undrained events are dropped and counted.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self._events: collections.deque[Event] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.dropped = 0
        self.received = 0

    def put(self, event: Event) -> None:
        """Add one event (any thread)."""
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
            self.received += 1

    def drain(self) -> list[Event]:
        """Take every pending event, oldest first."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events


class EventHistory:
    """The newest ``size`` events plus per-worker and per-actor counters."""

    def __init__(self, size: int = 5000) -> None:
        self.events: collections.deque[Event] = collections.deque(maxlen=size)
        self.done_by_worker: collections.Counter[str] = collections.Counter()
        self.actors: set[str] = set()
        self.queues: set[str] = set()
        self.total = 0

    def extend(self, events: Iterable[Event]) -> None:
        """Append events, updating counters."""
        for event in events:
            self.events.append(event)
            self.total += 1
            if event.get("actor_name"):
                self.actors.add(event["actor_name"])
            if event.get("queue_name"):
                self.queues.add(event["queue_name"])
            if event.get("event") in ("succeeded", "failed") and event.get("worker"):
                self.done_by_worker[str(event["worker"])] += 1

    def filtered(self, event_filter: EventFilter, limit: int) -> list[Event]:
        """The newest ``limit`` events passing ``event_filter``, oldest first."""
        if not event_filter.active:
            return list(self.events)[-limit:]
        found: list[Event] = []
        for event in reversed(self.events):
            if event_filter.matches(event):
                found.append(event)
                if len(found) >= limit:
                    break
        found.reverse()
        return found

    def timeline(self, message_id: str) -> list[Event]:
        """Every held event of one message, oldest first."""
        return [e for e in self.events if e.get("message_id") == message_id]

    def done_by_pid(self, pid: int) -> int:
        """Messages finished by the worker process ``pid`` (events name workers host:pid)."""
        suffix = f":{pid}"
        return sum(n for worker, n in self.done_by_worker.items() if worker.endswith(suffix))


def oldest_waiting(events: Iterable[Event]) -> dict[str, int]:
    """Per queue, the enqueue timestamp (ms) of the oldest message seen enqueued but not started.

    Derived from the held events, so it covers what the TUI has seen (cheap; no broker scan).
    """
    waiting: dict[str, tuple[str, int]] = {}
    pending: dict[str, Event] = {}
    for event in events:
        message_id = event.get("message_id")
        if not message_id:
            continue
        if event.get("event") == "enqueued" and not (event.get("options") or {}).get("eta"):
            pending[message_id] = event
        elif event.get("event") in ("started", "skipped", "dead_lettered"):
            pending.pop(message_id, None)
    for message_id, event in pending.items():
        queue, at = event.get("queue_name", "?"), int(event.get("timestamp") or 0)
        if queue not in waiting or at < waiting[queue][1]:
            waiting[queue] = (message_id, at)
    return {queue: at for queue, (_, at) in waiting.items()}
