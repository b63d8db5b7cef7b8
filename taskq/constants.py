"""Values more than one module relies on, each written once: default paths and URLs, TTLs
(milliseconds) and the key formats of what taskq keeps in a result backend."""

from __future__ import annotations

#: The embedded SQLite broker's file when nothing else is configured (relative to the cwd).
DEFAULT_SQLITE_PATH = ".taskq/taskq.db"
#: The broker taskq builds when neither ``--broker`` nor :data:`BROKER_URL_ENV` names one.
DEFAULT_BROKER_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
#: The environment variable naming the broker URL.
BROKER_URL_ENV = "TASKQ_BROKER_URL"

#: One day, in ms: how long group bookkeeping, abort marks and group barriers are kept.
ONE_DAY_MS = 86_400_000
#: How long a group's member list and finished-member counter are kept (ms).
GROUP_TTL = ONE_DAY_MS
#: How long an abort mark is kept (ms): a queued message aborted longer ago than this runs.
DEFAULT_ABORT_TTL = ONE_DAY_MS
#: How long a GroupCallbacks barrier is kept (ms).
DEFAULT_BARRIER_TTL = ONE_DAY_MS


def group_members_key(namespace: str, group_id: str) -> str:
    """Result-backend key of a group's member list (see :mod:`taskq.fan_in`)."""
    return f"{namespace}:group-members:{group_id}"


def group_done_key(namespace: str, group_id: str) -> str:
    """Result-backend key of a group's finished-member counter (see :mod:`taskq.fan_in`)."""
    return f"{namespace}:group-done:{group_id}"


def abort_key(namespace: str, message_id: str) -> str:
    """Result-backend key of a message's abort mark (see :mod:`taskq.middleware.abort`)."""
    return f"{namespace}:abort:{message_id}"
