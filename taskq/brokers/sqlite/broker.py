"""The embedded SQLite broker: one file shared by producers and worker processes on a machine.

Messages live in one table. A consumer *leases* ready messages in a short ``BEGIN IMMEDIATE``
transaction; the lease is renewed while the message runs and the row is deleted on ack, so the
messages of a killed worker become ready again when their lease expires (at-least-once).
Delays are native: a delayed row becomes ready at its ``eta``, no ``.DQ`` queue is involved.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from ...broker import Broker, Consumer, DataStore
from ...common import current_millis, q_name, validate_queue_name
from ...constants import DEFAULT_SQLITE_PATH
from ...errors import QueueJoinTimeout, QueueNotFound
from ...message import Message
from ...middleware.middleware import Middleware
from ..admin_delegation import StoreAdminDelegation
from .admin import SQLiteAdmin
from .consumer import LeaseKeeper, SQLiteConsumer
from .errors import (
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseIOError,
    DatabaseLocked,
    DatabaseReadOnly,
    NotATaskqDatabase,
    SQLiteBrokerError,
)
from .events import SQLiteEvents
from .reserve import RESERVE_BYTES, SpaceReserve
from .schema import DELAYED, INSERT_MESSAGE, READY, Database

__all__ = [
    "DatabaseCorrupt",
    "DatabaseFull",
    "DatabaseIOError",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "NotATaskqDatabase",
    "SQLiteBroker",
    "SQLiteBrokerError",
]


DEFAULT_PATH = DEFAULT_SQLITE_PATH
#: How long dead letters are kept (ms): 7 days, as Dramatiq does.
DEFAULT_DEAD_LETTER_TTL = 7 * 24 * 3600 * 1000


class SQLiteBroker(StoreAdminDelegation, Broker):
    """A broker in one SQLite file (WAL mode), safe for many producer and worker processes.

    ``visibility_timeout`` (ms): how long a leased message stays invisible; the consumer renews
    the lease every third of it while the message runs, so only a dead worker's messages come
    back. ``busy_timeout`` (ms): how long a write waits for another writer's lock.
    ``max_events``: how many lifecycle events the events table keeps. ``reserve_bytes``: disk
    space held back beside the file for workers to drain a full disk (0 turns it off).
    """

    holds_results = True
    logger_name = "taskq.brokers.sqlite"
    events: SQLiteEvents

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        middleware: list[Middleware] | None = None,
        visibility_timeout: int = 30_000,
        busy_timeout: int = 10_000,
        max_events: int = 10_000,
        dead_letter_ttl: int = DEFAULT_DEAD_LETTER_TTL,
        reserve_bytes: int = RESERVE_BYTES,
    ) -> None:
        if visibility_timeout < 100:
            raise ValueError(
                f"visibility_timeout must be at least 100 ms, got {visibility_timeout}"
            )
        self.visibility_timeout = visibility_timeout
        self.dead_letter_ttl = dead_letter_ttl
        self.db = Database(path, busy_timeout=busy_timeout)
        #: The absolute path of the database file.
        self.path = self.db.path
        self.db.initialize()
        #: Space held back so that workers can drain the queues when producers fill the disk.
        self.reserve = SpaceReserve(self.path, reserve_bytes)
        self.reserve.take()
        self._keeper: LeaseKeeper | None = None
        self._keeper_lock = threading.Lock()
        #: Queue stats, heartbeats and dead letters (the methods below delegate).
        self.admin = SQLiteAdmin(
            self.db,
            priority=self._priority,
            declared_queues=self.get_declared_queues,
            visibility_timeout=lambda: self.visibility_timeout,
        )
        super().__init__(middleware=middleware, events=SQLiteEvents(self.path, max_events))

    # -- declaration ----------------------------------------------------------------------
    def declare_queue(self, queue_name: str) -> None:
        """Declare ``queue_name`` (recorded in the file so other processes can list it)."""
        if queue_name in self.queues:
            return
        validate_queue_name(queue_name)
        self.emit_before("declare_queue", queue_name)
        self.db.write(
            "INSERT OR IGNORE INTO taskq_queues (name, declared_at) VALUES (?, ?)",
            (queue_name, current_millis()),
        )
        self.queues[queue_name] = True
        self.emit_after("declare_queue", queue_name)

    # -- enqueue and consume --------------------------------------------------------------
    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Insert ``message``; with ``delay`` (ms) it becomes ready at ``options["eta"]``."""
        return self.enqueue_many([message], delay=delay)[0]

    def enqueue_many(
        self, messages: Iterable[Message[Any]], *, delay: int | None = None
    ) -> list[Message[Any]]:
        """Insert every message in one transaction: all are enqueued or none is."""
        if not self.reserve.held() and not self.reserve.take():
            raise DatabaseFull(
                f"The disk holding the taskq database {self.path} is nearly full: the last "
                f"{self.reserve.size // (1024 * 1024)} MiB are kept for workers to drain the "
                "queues. Free some space; everything committed before is intact."
            )
        now = current_millis()
        prepared = []
        for message in messages:
            if message.queue_name not in self.queues:
                raise QueueNotFound(f"Queue {message.queue_name!r} is not declared on this broker")
            if delay:
                message = message.copy()
                message.options["eta"] = now + delay
            self.emit_before("enqueue", message, delay or 0)
            prepared.append(message)
        state, visible_at = (DELAYED, now + delay) if delay else (READY, now)
        with self.db.transaction() as connection:
            connection.executemany(
                INSERT_MESSAGE,
                [
                    (
                        m.queue_name,
                        m.message_id,
                        self._priority(m),
                        state,
                        visible_at,
                        now,
                        m.encode(),
                    )
                    for m in prepared
                ],
            )
        for message in prepared:
            self.emit_after("enqueue", message, delay or 0)
        return prepared

    def _priority(self, message: Message[Any]) -> int:
        actor = self.actors.get(message.actor_name)
        return actor.priority if actor is not None else 0

    def enqueue_raw(self, queue_name: str, payload: bytes) -> None:
        """Insert raw bytes as a producer in another language would (no validation)."""
        now = current_millis()
        self.db.write(INSERT_MESSAGE, (queue_name, None, 0, READY, now, now, payload))

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 1000) -> Consumer:
        """A consumer leasing up to ``prefetch`` messages; ``next()`` waits ``timeout`` ms."""
        if queue_name not in self.queues:
            raise QueueNotFound(f"Queue {queue_name!r} is not declared on this broker")
        return SQLiteConsumer(self, queue_name, prefetch, timeout)

    def lease_keeper(self) -> LeaseKeeper:
        """This process's lease keeper (started with the first consumer; a forked child
        gets its own)."""
        with self._keeper_lock:
            keeper = self._keeper
            if keeper is None or keeper.pid != os.getpid() or keeper.stopped.is_set():
                interval = min(self.visibility_timeout / 3, 5000) / 1000
                keeper = self._keeper = LeaseKeeper(self, interval)
            return keeper

    # -- maintenance ----------------------------------------------------------------------
    def flush(self, queue_name: str) -> None:
        """Delete the messages (ready, delayed and leased) and dead letters of ``queue_name``."""
        name = q_name(queue_name)
        with self.db.transaction() as connection:
            connection.execute("DELETE FROM taskq_messages WHERE queue_name = ?", (name,))
            connection.execute("DELETE FROM taskq_dead_letters WHERE queue_name = ?", (name,))

    def flush_all(self) -> None:
        """Delete every message and dead letter in the file."""
        with self.db.transaction() as connection:
            connection.execute("DELETE FROM taskq_messages")
            connection.execute("DELETE FROM taskq_dead_letters")

    def join(self, queue_name: str, *, fail_fast: bool = False, timeout: int | None = None) -> None:
        """Wait until ``queue_name`` has no ready, delayed or unacked message.

        ``fail_fast=True`` raises as soon as a message of the queue is dead-lettered meanwhile.
        """
        name = q_name(queue_name)
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        dead_before = self._count("taskq_dead_letters", name)
        pause = 0.002
        while self._count("taskq_messages", name):
            if fail_fast and self._count("taskq_dead_letters", name) > dead_before:
                letter = self.dead_letter_messages(name, limit=1)[0]
                raise RuntimeError(f"Message {letter.message_id} failed: {letter.reason}")
            if deadline is not None and time.monotonic() > deadline:
                raise QueueJoinTimeout(f"Queue {name!r} did not drain in {timeout} ms")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _count(self, table: str, queue_name: str) -> int:
        return self.db.read(f"SELECT COUNT(*) FROM {table} WHERE queue_name = ?", (queue_name,))[0][
            0
        ]

    def close(self) -> None:
        """Stop renewing leases and close this process's connections to the file."""
        with self._keeper_lock:
            keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper.pid == os.getpid():
            keeper.stop()
        self.events.close()
        self.db.close()

    def data_store(self) -> DataStore:
        """This broker's file (the default results live in it too)."""
        return DataStore("sqlite", path=self.path)

    def __repr__(self) -> str:
        return f"<SQLiteBroker {self.path}>"
