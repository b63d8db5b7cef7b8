"""Results in the SQLite file (the same file as the SQLite broker's, or another one)."""

from __future__ import annotations

import os
import threading
from typing import Any

from ...brokers.sqlite.schema import Database
from ...common import current_millis
from ...constants import DEFAULT_SQLITE_PATH
from ..backend import ResultBackend

#: Expired rows are swept once every this many writes.
SWEEP_EVERY = 200


class SQLiteBackend(ResultBackend):
    """Stores results with their expiry time; reads ignore expired rows, writes sweep them.

    ``path`` defaults to the SQLite broker's file, so a producer and its workers share results
    with no server. Blocking reads poll with a short back-off (1 ms rising to 50 ms).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_SQLITE_PATH,
        *,
        busy_timeout: int = 10_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.db = Database(path, busy_timeout=busy_timeout)
        self.path = self.db.path
        self.db.initialize()
        self._writes = 0
        self._writes_lock = threading.Lock()

    def _read(self, key: str) -> bytes | None:
        rows = self.db.read(
            "SELECT value FROM taskq_results WHERE key = ? AND expires_at > ?",
            (key, current_millis()),
        )
        return bytes(rows[0][0]) if rows else None

    def _write(self, key: str, data: bytes, ttl: int) -> None:
        now = current_millis()
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO taskq_results (key, value, expires_at) VALUES (?, ?, ?)",
                (key, data, now + ttl),
            )
            self._maybe_sweep(connection, now)

    def increment(self, key: str, amount: int, ttl: int) -> int:
        """Add ``amount`` to the counter at ``key`` (0 if absent or expired); refresh its TTL."""
        now = current_millis()
        with self.db.transaction() as connection:
            row = connection.execute(
                "SELECT value FROM taskq_results WHERE key = ? AND expires_at > ?", (key, now)
            ).fetchone()
            total = int(bytes(row[0])) + amount if row else amount
            connection.execute(
                "INSERT OR REPLACE INTO taskq_results (key, value, expires_at) VALUES (?, ?, ?)",
                (key, str(total).encode(), now + ttl),
            )
            self._maybe_sweep(connection, now)
        return total

    def _maybe_sweep(self, connection: Any, now: int) -> None:
        with self._writes_lock:
            self._writes += 1
            due = self._writes % SWEEP_EVERY == 0
        if due:
            connection.execute("DELETE FROM taskq_results WHERE expires_at <= ?", (now,))

    def flush(self) -> None:
        """Delete every stored result."""
        self.db.write("DELETE FROM taskq_results")

    def close(self) -> None:
        """Close this process's connections to the file."""
        self.db.close()

    def __repr__(self) -> str:
        return f"<SQLiteBackend {self.path}>"
