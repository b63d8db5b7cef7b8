"""SQLiteBroker factory for the shared broker suite: a fresh database file per broker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskq.brokers.sqlite import SQLiteBroker
from taskq.middleware import Middleware


@contextmanager
def make_broker(middleware: list[Middleware] | None = None) -> Iterator[SQLiteBroker]:
    directory = Path(tempfile.mkdtemp(prefix="taskq-sqlite-"))
    broker = SQLiteBroker(directory / "taskq.db", middleware=middleware)
    try:
        yield broker
    finally:
        broker.close()
        shutil.rmtree(directory, ignore_errors=True)


def push_raw(broker: SQLiteBroker, queue_name: str, payload: bytes) -> None:
    """Insert ``payload`` as a message row, where a producer in another language would."""
    broker.enqueue_raw(queue_name, payload)
