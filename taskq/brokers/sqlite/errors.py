"""Errors of the SQLite broker and result backend, each naming the file and what to do."""

from __future__ import annotations

import sqlite3

from ...errors import BrokerError, ConnectionError

__all__ = [
    "DatabaseCorrupt",
    "DatabaseFull",
    "DatabaseIOError",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "NotATaskqDatabase",
    "SQLiteBrokerError",
    "translate_error",
]


class SQLiteBrokerError(BrokerError):
    """Something is wrong with the SQLite file; the message names it and says what to do."""


class NotATaskqDatabase(SQLiteBrokerError):
    """The path holds a file that is not a taskq database."""


class DatabaseCorrupt(SQLiteBrokerError):
    """SQLite found the file damaged (``database disk image is malformed``)."""


class DatabaseReadOnly(SQLiteBrokerError):
    """The file or its directory cannot be written."""


class DatabaseFull(SQLiteBrokerError, ConnectionError):
    """The disk is full; nothing committed before was lost. Workers retry (and say so once)."""


class DatabaseIOError(SQLiteBrokerError, ConnectionError):
    """The operating system failed a read or write of the file; workers retry."""


class DatabaseLocked(SQLiteBrokerError, ConnectionError):
    """Another connection held the write lock longer than ``busy_timeout``; retrying may work."""


def translate_error(error: sqlite3.Error, path: str, busy_timeout: int) -> SQLiteBrokerError:
    """Turn an sqlite3 error into one that names ``path`` and says what to do."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    detail = f"SQLite says: {error}"
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseLocked(
            f"The taskq database {path} stayed locked by another connection for more than "
            f"{busy_timeout} ms. Check for a process holding a long transaction on it (an open "
            f"sqlite3 shell, a backup tool), or raise busy_timeout. ({detail})"
        )
    if code == sqlite3.SQLITE_READONLY:
        return DatabaseReadOnly(
            f"The taskq database {path} is read-only. Make the file and its directory writable "
            f"(taskq also writes {path}-wal and {path}-shm there) or choose another path. "
            f"({detail})"
        )
    if code == sqlite3.SQLITE_FULL:
        return DatabaseFull(
            f"The disk holding the taskq database {path} is full. Free some space; everything "
            f"committed before is intact. ({detail})"
        )
    if code == sqlite3.SQLITE_IOERR:
        return DatabaseIOError(
            f"I/O error on the taskq database {path}: the operating system failed a read or "
            f"write (a failing disk, a file size limit, a vanished network mount). Check the "
            f"disk and the system log. ({detail})"
        )
    if code == sqlite3.SQLITE_NOTADB:
        return NotATaskqDatabase(
            f"{path} is not a taskq database: it is not an SQLite file ({detail}). Point taskq "
            "at another path (e.g. sqlite:///.taskq/taskq.db) or move this file away."
        )
    if code == sqlite3.SQLITE_CORRUPT:
        return DatabaseCorrupt(
            f"The taskq database {path} is damaged ({detail}). Stop every process using it, "
            f"keep a copy, then recover what it holds with `sqlite3 {path} .recover` or move "
            "it away to start afresh."
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        return DatabaseReadOnly(
            f"Cannot open the taskq database {path}: check that its directory exists and is "
            f"writable (taskq creates {path}-wal and {path}-shm beside it). ({detail})"
        )
    return SQLiteBrokerError(f"SQLite error on the taskq database {path}: {detail}")
