"""The SQLite file shared by the SQLite broker and result backend: schema, per-thread
connections, short write transactions, and errors that say what is wrong with the file."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from .errors import (
    DatabaseLocked,
    DatabaseReadOnly,
    NotATaskqDatabase,
    SQLiteBrokerError,
    translate_error,
)

__all__ = ["INSERT_MESSAGE", "Database", "placeholders"]

#: Bumped when the tables change in a way older code cannot read.
SCHEMA_VERSION = "1"

# Message states: ready now, waiting for ``visible_at`` (a delay), leased by a consumer until
# ``visible_at`` (the lease expires then, so a dead consumer's messages become ready again).
READY, DELAYED, LEASED = 0, 1, 2

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS taskq_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS taskq_queues (
        name TEXT PRIMARY KEY,
        declared_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    # AUTOINCREMENT: ids are never reused, so a late ack can never delete a newer message.
    """CREATE TABLE IF NOT EXISTS taskq_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue_name TEXT NOT NULL,
        message_id TEXT,
        priority INTEGER NOT NULL DEFAULT 0,
        state INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        lease_owner TEXT,
        deliveries INTEGER NOT NULL DEFAULT 0,
        enqueued_at INTEGER NOT NULL,
        payload BLOB NOT NULL
    )""",
    # Fetching: the first ready messages of a queue by priority, then arrival order.
    """CREATE INDEX IF NOT EXISTS taskq_messages_ready
        ON taskq_messages (queue_name, state, priority, id)""",
    # Making due delayed messages and expired leases ready again.
    """CREATE INDEX IF NOT EXISTS taskq_messages_due
        ON taskq_messages (queue_name, state, visible_at)""",
    """CREATE TABLE IF NOT EXISTS taskq_dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue_name TEXT NOT NULL,
        message_id TEXT,
        reason TEXT,
        dead_at INTEGER NOT NULL,
        payload BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS taskq_dead_letters_queue
        ON taskq_dead_letters (queue_name, message_id)""",
    """CREATE INDEX IF NOT EXISTS taskq_dead_letters_age ON taskq_dead_letters (dead_at)""",
    """CREATE TABLE IF NOT EXISTS taskq_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        published_at INTEGER NOT NULL,
        payload TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS taskq_workers (
        worker_id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        queues TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS taskq_results (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS taskq_results_expiry ON taskq_results (expires_at)""",
]

#: Adds one message row.
INSERT_MESSAGE = (
    "INSERT INTO taskq_messages"
    " (queue_name, message_id, priority, state, visible_at, enqueued_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

#: Every table the schema creates.
TABLES = {
    statement.split("EXISTS", 1)[1].split("(", 1)[0].strip()
    for statement in SCHEMA
    if statement.startswith("CREATE TABLE")
}


class Database:
    """One SQLite file: a connection per thread (re-opened after ``fork``), WAL mode,
    ``busy_timeout`` waits for the write lock, and ``BEGIN IMMEDIATE`` write transactions."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: int = 10_000) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[_Slot] = []
        self._connections_lock = threading.Lock()
        self._pid = os.getpid()
        _databases.add(self)

    # -- opening and checking the file ----------------------------------------------------
    def initialize(self) -> None:
        """Create the schema in a new or empty file; refuse files that are not taskq's.

        Processes that open a brand-new file at the same moment (a ``-p 2`` group's first
        start) race to switch it to WAL mode; SQLite answers the losers "database is locked"
        at once, without waiting ``busy_timeout``, so they retry until it has passed.
        """
        self._check_file()
        deadline = time.monotonic() + self.busy_timeout / 1000
        pause = 0.005
        while True:
            try:
                self._initialize()
                return
            except DatabaseLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    def _initialize(self) -> None:
        try:
            connection = self.connection()
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            tables = self._table_names(connection)
            current = "taskq_meta" in tables and self._version(connection) == SCHEMA_VERSION
            if current and tables >= TABLES:
                return
        except sqlite3.Error as e:
            self.close()
            raise self.translate(e) from None
        with self.transaction() as connection:
            tables = self._table_names(connection)
            if tables and "taskq_meta" not in tables:
                shown = ", ".join(sorted(tables)[:5])
                raise NotATaskqDatabase(
                    f"{self.path} is an SQLite database but not a taskq one (it has the tables "
                    f"{shown}). Point taskq at another file, e.g. sqlite:///.taskq/taskq.db, "
                    "rather than sharing a database with another program."
                )
            if "taskq_meta" in tables:
                version = self._version(connection)
                if version != SCHEMA_VERSION:
                    raise NotATaskqDatabase(
                        f"{self.path} holds taskq schema version {version!r}; this taskq reads "
                        f"version {SCHEMA_VERSION!r}. Upgrade taskq or use another file."
                    )
            for statement in SCHEMA:
                connection.execute(statement)
            connection.execute(
                "INSERT OR IGNORE INTO taskq_meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
        if mode.lower() != "wal":
            raise DatabaseReadOnly(f"Could not switch {self.path} to WAL mode (got {mode!r}).")

    def _check_file(self) -> None:
        # Only path checks here: opening the file outside SQLite, even to read its header, and
        # closing it again drops every POSIX lock this process holds on it, SQLite's own
        # included. Whether the file is an SQLite database at all, SQLite itself tells.
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            raise DatabaseReadOnly(
                f"Cannot create the directory {directory} for the taskq database {self.path}: "
                f"{e.strerror}. Create it or choose another path."
            ) from None
        if not os.access(directory, os.W_OK | os.X_OK):
            raise DatabaseReadOnly(
                f"The directory {directory} of the taskq database {self.path} is not writable; "
                "taskq needs to create the file and its -wal and -shm companions there. Make it "
                "writable or choose another path."
            )
        if os.path.isdir(self.path):
            raise NotATaskqDatabase(
                f"{self.path} is a directory, not a taskq database file. Use a file path such "
                "as sqlite:///.taskq/taskq.db."
            )
        if not os.path.exists(self.path):
            return
        if not os.access(self.path, os.W_OK):
            raise DatabaseReadOnly(
                f"The taskq database {self.path} is read-only. Make it writable (chmod u+w) or "
                "choose another path; its contents are untouched."
            )

    @staticmethod
    def _table_names(connection: sqlite3.Connection) -> set[str]:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {row[0] for row in rows}

    @staticmethod
    def _version(connection: sqlite3.Connection) -> str | None:
        row = connection.execute(
            "SELECT value FROM taskq_meta WHERE key = 'schema_version'"
        ).fetchone()
        return row[0] if row else None

    # -- connections ----------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and anew in a forked child).

        Prefer :meth:`_use`, which also keeps :meth:`close` from closing it mid-statement.
        """
        return self._slot().connection

    def _slot(self) -> _Slot:
        pid = os.getpid()
        if pid != self._pid:  # never touch a connection inherited across fork
            self._pid = pid
            self._local = threading.local()
            self._connections = []
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None or slot.closed:
            try:
                connection = sqlite3.connect(
                    self.path,
                    timeout=self.busy_timeout / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout)}")
                connection.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as e:
                raise self.translate(e) from None
            slot = _Slot(connection)
            self._local.slot = slot
            with self._connections_lock:
                self._connections.append(slot)
        return slot

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held so that :meth:`close` (from any thread) waits."""
        slot = self._slot()
        with slot.lock:
            if slot.closed:  # closed by another thread between _slot() and the lock
                slot = self._slot()
                with slot.lock:
                    yield slot.connection
                return
            yield slot.connection

    def translate(self, error: sqlite3.Error) -> SQLiteBrokerError:
        """See :func:`translate_error`."""
        return translate_error(error, self.path, self.busy_timeout)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front, so
        concurrent writers queue on ``busy_timeout`` instead of failing mid-way."""
        with self._use() as connection:
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self.translate(e) from None
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as e:
                if connection.in_transaction:
                    with suppress(sqlite3.Error):  # may be rolled back already (SQLITE_FULL)
                        connection.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self.translate(e) from None
                raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read-only statement and return all rows (never blocks writers in WAL)."""
        try:
            with self._use() as connection:
                return connection.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise self.translate(e) from None

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement as its own transaction; returns the changed row count."""
        try:
            with self._use() as connection:
                return connection.execute(sql, params).rowcount
        except sqlite3.Error as e:
            raise self.translate(e) from None

    def close(self) -> None:
        """Close every connection this process opened on the file."""
        if os.getpid() != self._pid:
            return
        with self._connections_lock:
            slots, self._connections = self._connections, []
        for slot in slots:
            with slot.lock:  # never close a connection another thread is using
                slot.closed = True
                with suppress(sqlite3.Error):
                    slot.connection.close()

    def _release_before_fork(self) -> None:
        """Close every connection no thread is using, so none crosses the coming ``fork``."""
        with self._connections_lock:
            busy = []
            for slot in self._connections:
                if slot.lock.acquire(blocking=False):
                    slot.closed = True
                    with suppress(sqlite3.Error):
                        slot.connection.close()
                    slot.lock.release()
                else:
                    busy.append(slot)
            self._connections = busy

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the parent's connections without closing them (closing
        would act on locks and WAL state that belong to the parent)."""
        _inherited.extend(slot.connection for slot in self._connections)
        self._connections = []
        self._connections_lock = threading.Lock()
        self._local = threading.local()
        self._pid = os.getpid()


#: Every Database of this process, so that no connection crosses a ``fork()``.
_databases: weakref.WeakSet[Database] = weakref.WeakSet()
#: Connections a forked child inherited while another thread of its parent was using them:
#: kept referenced, never used and never closed in the child.
_inherited: list[sqlite3.Connection] = []


def _release_before_fork() -> None:
    for database in list(_databases):
        database._release_before_fork()


def _forget_after_fork() -> None:
    for database in list(_databases):
        database._forget_after_fork()


os.register_at_fork(before=_release_before_fork, after_in_child=_forget_after_fork)


class _Slot:
    """A thread's connection, its lock, and whether :meth:`Database.close` closed it."""

    __slots__ = ("connection", "lock", "closed")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.lock = threading.RLock()  # re-entrant: a read inside a transaction is fine
        self.closed = False


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` clause of ``count`` values."""
    return ", ".join("?" * count)
