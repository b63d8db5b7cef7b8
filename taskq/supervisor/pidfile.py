"""The master's pid file: refuse to start over a live process, replace a stale file, clean up."""

from __future__ import annotations

import contextlib
import logging
import os

logger = logging.getLogger("taskq.supervisor")


class PidFileRefused(Exception):
    """The pid file cannot be taken, so the master does not start (exit code 4)."""


class PidFileInUse(PidFileRefused):
    """The pid file names a process that is still running."""

    def __init__(self, path: str, pid: int) -> None:
        super().__init__(
            f"pid file {path} names process {pid}, which is still running; "
            f"stop it first or remove the file if that process is not a taskq worker"
        )
        self.path = path
        self.pid = pid


class PidFileNotAPidFile(PidFileRefused):
    """The file holds something other than a pid: most likely ``--pid-file`` names the wrong
    file (a configuration file, say), which must not be overwritten."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"pid file {path} holds something other than a process id; it was left as it is. "
            "Check --pid-file, or remove the file if it is a damaged pid file"
        )
        self.path = path


def process_is_alive(pid: int) -> bool:
    """True if a process with this pid exists (even one owned by another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PidFile:
    """Holds ``path`` for the lifetime of the master; see :meth:`acquire` and :meth:`release`."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.pid = os.getpid()

    def acquire(self) -> None:
        """Write our pid; raise :class:`PidFileInUse` if the file names another live process,
        :class:`PidFileNotAPidFile` if it holds anything but a pid (an empty file is
        replaced)."""
        existing = self._read()
        if existing is not None and existing != self.pid and process_is_alive(existing):
            raise PidFileInUse(self.path, existing)
        if existing is not None:
            logger.warning("Replacing stale pid file %s (process %d is gone).", self.path, existing)
        elif self._content().strip():
            raise PidFileNotAPidFile(self.path)
        elif os.path.exists(self.path):
            logger.warning("Replacing empty pid file %s.", self.path)
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        temporary = f"{self.path}.{self.pid}.tmp"
        with open(temporary, "w", encoding="ascii") as f:
            f.write(f"{self.pid}\n")
        os.replace(temporary, self.path)

    def release(self) -> None:
        """Remove the file if it still holds our pid."""
        if self._read() == self.pid:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def _content(self) -> str:
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                return f.read(4096)
        except FileNotFoundError:
            return ""

    def _read(self) -> int | None:
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None
