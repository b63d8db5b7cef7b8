"""Where lifecycle events wait between the subscriber thread and the UI (see message_index for
what the UI keeps)."""

from __future__ import annotations

import collections
import threading
from typing import Any

Event = dict[str, Any]


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
