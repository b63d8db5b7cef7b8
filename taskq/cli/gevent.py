"""``taskq-gevent``: ``taskq worker`` with gevent's monkey-patching, worker threads as greenlets.

gevent must patch the standard library before anything imports it, so unless the process is
already patched, the command replaces itself (same pid, same arguments) with an interpreter that
patches first and then runs the ``taskq`` command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

#: What the re-executed interpreter runs: patch, then the ordinary ``taskq`` command line.
_PATCHED_BOOT = (
    "from gevent import monkey; monkey.patch_all(); "
    "import sys; from taskq.cli import main; sys.exit(main(sys.argv[1:]))"
)


def ensure_gevent_patched(taskq_argv: Sequence[str]) -> None:
    """Return if gevent has patched this process; else exec ``taskq *taskq_argv`` patched.

    Exits 2 with a one-line reason when gevent is not installed.
    """
    from ..middleware.threading import is_gevent_active

    if is_gevent_active():
        return
    try:
        import gevent  # noqa: F401
    except ImportError:
        sys.stderr.write("taskq: error: gevent is not installed; `pip install taskq[gevent]`\n")
        sys.exit(2)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-c", _PATCHED_BOOT, *taskq_argv])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``taskq-gevent``: takes the same arguments as ``taskq worker``."""
    worker_argv = list(sys.argv[1:] if argv is None else argv)
    taskq_argv = ["worker", "--gevent", *worker_argv]
    ensure_gevent_patched(taskq_argv)
    from . import main as taskq_main

    return taskq_main(taskq_argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
