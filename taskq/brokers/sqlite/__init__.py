"""The embedded SQLite broker (``SQLiteBroker``) and the errors it raises for a bad file.

File roles: ``broker`` (the broker class), ``consumer`` (and the lease keeper), ``admin``
(queue stats, heartbeats, dead letters), ``events``, ``schema`` (tables, connections),
``reserve`` (space kept for a full disk), ``errors``.
"""

from .broker import DEFAULT_DEAD_LETTER_TTL, DEFAULT_PATH, SQLiteBroker
from .errors import (
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseIOError,
    DatabaseLocked,
    DatabaseReadOnly,
    NotATaskqDatabase,
    SQLiteBrokerError,
)

__all__ = [
    "DEFAULT_DEAD_LETTER_TTL",
    "DEFAULT_PATH",
    "DatabaseCorrupt",
    "DatabaseFull",
    "DatabaseIOError",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "NotATaskqDatabase",
    "SQLiteBroker",
    "SQLiteBrokerError",
]
