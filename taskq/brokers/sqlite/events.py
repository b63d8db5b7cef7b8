"""Lifecycle events on SQLite: a bounded table that subscribers follow by id."""

from __future__ import annotations

import collections
import json
import logging
import time
from typing import Any

from ...common import current_millis
from ...events.transport import EventStream
from .schema import Database

logger = logging.getLogger("taskq.brokers.sqlite")

#: Events are fire-and-forget: a publisher waits at most this long (ms) for the write lock.
EVENT_BUSY_TIMEOUT = 250
MIN_EVENT_POLL = 0.005
MAX_EVENT_POLL = 0.1


class SQLiteEvents:
    """Publishes into ``taskq_events`` and keeps only the newest ``max_events`` rows."""

    def __init__(self, path: str, max_events: int) -> None:
        self.db = Database(path, busy_timeout=EVENT_BUSY_TIMEOUT)
        self.max_events = max_events
        self._failure_logged = False

    def publish(self, event: dict[str, Any]) -> None:
        """Insert ``event`` and trim the oldest rows beyond ``max_events``. Never raises."""
        try:
            payload = json.dumps(event, default=str, separators=(",", ":"))
            with self.db.transaction() as connection:
                cursor = connection.execute(
                    "INSERT INTO taskq_events (published_at, payload) VALUES (?, ?)",
                    (current_millis(), payload),
                )
                connection.execute(
                    "DELETE FROM taskq_events WHERE id <= ?",
                    ((cursor.lastrowid or 0) - self.max_events,),
                )
            self._failure_logged = False
        except Exception as e:
            if not self._failure_logged:
                logger.warning("Dropped a lifecycle event: %s", e)
                self._failure_logged = True

    def subscribe(self, timeout: int) -> EventStream:
        """A stream of events published after this call."""
        rows = self.db.read("SELECT COALESCE(MAX(id), 0) FROM taskq_events")
        return SQLiteEventStream(self.db, rows[0][0], timeout)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` newest events, oldest first."""
        rows = self.db.read(
            "SELECT payload FROM (SELECT id, payload FROM taskq_events ORDER BY id DESC LIMIT ?)"
            " ORDER BY id",
            (limit,),
        )
        return [json.loads(row[0]) for row in rows]

    def close(self) -> None:
        self.db.close()


class SQLiteEventStream(EventStream):
    """Polls the events table for ids above the last one seen, backing off while idle."""

    def __init__(self, db: Database, last_id: int, timeout: int) -> None:
        self.db = db
        self.last_id = last_id
        self.timeout = timeout / 1000
        self.buffer: collections.deque[dict[str, Any]] = collections.deque()
        self.pause = MIN_EVENT_POLL

    def __next__(self) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.timeout
        while not self.buffer:
            rows = self.db.read(
                "SELECT id, payload FROM taskq_events WHERE id > ? ORDER BY id LIMIT 500",
                (self.last_id,),
            )
            if rows:
                self.last_id = rows[-1][0]
                self.buffer.extend(json.loads(payload) for _, payload in rows)
                self.pause = MIN_EVENT_POLL
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(self.pause, remaining))
            self.pause = min(self.pause * 2, MAX_EVENT_POLL)
        return self.buffer.popleft()
