"""A Linux terminal driver that survives its terminal being closed.

When the terminal goes away (tmux server killed, ssh dropped, window closed) the kernel sends
SIGHUP *and* SIGCONT. Textual's stock driver treats that SIGCONT as "resume after Ctrl+Z" and
starts a second output thread, whose first write fails with EIO and kills it; the app's next 30
frames then fill that dead thread's queue and the event loop blocks forever, so the TUI never
finishes stopping its worker groups. This driver resumes only after a real suspend and drops
output once the terminal is gone, so the loop keeps running and the TUI can quit cleanly.

It overrides private LinuxDriver methods, so pyproject.toml bounds textual below 9.
"""

from __future__ import annotations

from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message


class TerminalGone(Message):
    """Posted to the app (once) when writing to the terminal fails: nobody is watching."""


class TerminalOutput:
    """The file Textual's output thread writes to; after the first failed write, output is
    dropped instead of raising (which would kill that thread and wedge the app)."""

    def __init__(self, file: IO[str], on_gone: Any) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        """Write ``text``, or drop it when the terminal is gone."""
        if not self.gone:
            try:
                return self._file.write(text)
            except (OSError, ValueError):
                self._mark_gone()
        return len(text)

    def flush(self) -> None:
        """Flush, unless the terminal is gone."""
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._mark_gone()

    def fileno(self) -> int:
        """The terminal's file descriptor."""
        return self._file.fileno()

    def isatty(self) -> bool:
        """Whether the underlying file is a terminal."""
        return self._file.isatty()

    def _mark_gone(self) -> None:
        if not self.gone:
            self.gone = True
            self._on_gone()


class HangupSafeDriver(LinuxDriver):
    """:class:`LinuxDriver` that ignores a SIGCONT it did not ask for and tolerates a dead
    terminal (see the module docstring)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._output = TerminalOutput(self._file, self._terminal_gone)  # type: ignore[arg-type]
        self._file = self._output  # type: ignore[assignment]
        self._suspended = False

    @property
    def terminal_gone(self) -> bool:
        """True once a write to the terminal failed."""
        return self._output.gone

    def _sigtstp_application(self, *args: Any) -> None:
        self._suspended = True
        super()._sigtstp_application(*args)

    def _sigcont_application(self, *args: Any) -> None:
        # A hang-up also delivers SIGCONT: only a resume after our own suspend restarts output.
        if not self._suspended or self.terminal_gone:
            return
        self._suspended = False
        super()._sigcont_application(*args)

    def _terminal_gone(self) -> None:
        self._app.post_message(TerminalGone())  # thread-safe: called from the output thread


def hangup_safe(driver_class: type[Any]) -> type[Any]:
    """:class:`HangupSafeDriver` in place of Textual's stock Linux driver; else ``driver_class``."""
    return HangupSafeDriver if driver_class is LinuxDriver else driver_class
