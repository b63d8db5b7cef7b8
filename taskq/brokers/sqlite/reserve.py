"""Disk space held back beside the SQLite file, so that workers can drain a full disk.

Leasing and acking write to the WAL, and a checkpoint may grow the database file: on a disk
that producers filled, workers could not take a single message. So the broker keeps a file of
``size`` allocated bytes (``taskq.db-reserve``) beside the database. A worker that hits a
full disk deletes it and carries on draining; producers refuse to send while the reserve is
gone and cannot be taken back, so that space stays the workers'.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading

logger = logging.getLogger("taskq.brokers.sqlite")

#: How much space (bytes) is held back for workers: about a full WAL (1,000 pages of 4 KiB).
RESERVE_BYTES = 4 * 1024 * 1024


class SpaceReserve:
    """The reserve file of one database: taken when the disk has room, released when full."""

    def __init__(self, database_path: str, size: int = RESERVE_BYTES) -> None:
        self.path = f"{database_path}-reserve"
        self.size = size
        self._released_logged = False
        self._lock = threading.Lock()

    def held(self) -> bool:
        """Whether the reserve file exists (one ``stat``: cheap enough for every send)."""
        return os.path.exists(self.path)

    def take(self) -> bool:
        """Allocate the reserve unless that would leave less than a quarter of its size free
        (so a reserve just released is not taken back at once); True when it is held."""
        if self.size <= 0 or self.held():
            return True
        temporary = f"{self.path}.{os.getpid()}"
        with self._lock:
            try:
                free = shutil.disk_usage(os.path.dirname(self.path)).free
                if free < self.size + self.size // 4:
                    return False
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.posix_fallocate(fd, 0, self.size)
                finally:
                    os.close(fd)
                os.replace(temporary, self.path)
            except OSError as e:
                logger.debug("Could not reserve space beside the database: %s", e)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                return False
        self._released_logged = False
        return True

    def release(self) -> bool:
        """Delete the reserve (a worker found the disk full); True when there was one."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        if not self._released_logged:
            self._released_logged = True
            logger.warning(
                "The disk holding %s is full: released the %d MiB kept in reserve so that "
                "workers can drain the queues. Producers are refused until space is freed.",
                self.path.removesuffix("-reserve"),
                self.size // (1024 * 1024),
            )
        return True
