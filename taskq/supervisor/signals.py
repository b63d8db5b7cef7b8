"""The master's signals: INT, TERM and HUP are queued for its loop and wake it at once, through
a self-pipe the loop waits on beside its worker processes' ready reports."""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType
from typing import Any

#: The signals that stop the group (a second one kills it).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class MasterSignals:
    """Catches INT, TERM and HUP while installed; :meth:`take` hands them to the loop in the
    order they came."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self._wake_fds: tuple[int, int] | None = None
        self._previous: dict[int, Any] = {}

    @property
    def wake_fd(self) -> int | None:
        """The file descriptor that turns readable when a signal arrives (None: not installed)."""
        return self._wake_fds[0] if self._wake_fds is not None else None

    def install(self) -> None:
        """Catch the signals from now on, remembering the handlers they replace."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._wake_fds = (read_fd, write_fd)
        for signum in (*STOP_SIGNALS, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        """Put back the handlers :meth:`install` replaced and close the wake-up pipe."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        fds, self._wake_fds = self._wake_fds, None
        for fd in fds or ():
            with contextlib.suppress(OSError):
                os.close(fd)

    def drain_wake(self) -> None:
        """Empty the wake-up pipe once the loop has woken."""
        if self._wake_fds is not None:
            with contextlib.suppress(OSError):
                os.read(self._wake_fds[0], 512)

    def take(self) -> int | None:
        """The oldest signal not yet handled, or None."""
        return self.pending.pop(0) if self.pending else None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.pending.append(signum)
        if self._wake_fds is not None:
            with contextlib.suppress(OSError):  # full: the loop is already being woken
                os.write(self._wake_fds[1], b"!")
