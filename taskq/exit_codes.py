"""What each exit code of ``taskq worker`` (and of its worker processes) means, written once:
the supervisor exits with these, ``taskq worker --help`` lists them, and the TUI and notebooks
show their meanings next to a stopped group."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``taskq worker`` (DESIGN.md §5) and of its worker processes."""

    #: Stopped gracefully (INT/TERM): running messages finished, prefetched ones requeued.
    OK = 0
    #: A second INT/TERM killed the worker processes.
    KILLED = 1
    #: A module could not be imported, or the arguments were wrong.
    IMPORT_OR_USAGE = 2
    #: The broker could not be reached at start.
    BROKER_UNREACHABLE = 3
    #: The pid file names a process that is still running, or holds no pid.
    PID_FILE_IN_USE = 4


#: A few words per exit code, as shown beside it.
EXIT_CODE_MEANINGS: dict[int, str] = {
    ExitCode.OK: "graceful stop",
    ExitCode.KILLED: "killed (second TERM/INT) or crashed",
    ExitCode.IMPORT_OR_USAGE: "import or argument error",
    ExitCode.BROKER_UNREACHABLE: "broker unreachable at start",
    ExitCode.PID_FILE_IN_USE: "pid file names a running process or holds no pid",
}


def exit_code_meaning(code: int | None) -> str:
    """Human meaning of a ``taskq worker`` exit code (None: still running; a negative code is
    a death by that signal, as :mod:`subprocess` reports it)."""
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return EXIT_CODE_MEANINGS.get(code, "unexpected exit")


def exit_codes_help() -> str:
    """The ``exit codes:`` section of ``taskq worker --help``, three codes a line."""
    items = [f"{int(code)} {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]
    lines = ["   ".join(items[i : i + 3]) for i in range(0, len(items), 3)]
    return "exit codes:\n" + "".join(f"  {line}\n" for line in lines)
