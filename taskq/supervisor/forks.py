"""Fork processes: ``taskq worker --fork-function MODULE:FUNCTION`` runs FUNCTION in a process of
its own beside the worker processes, as Dramatiq's ``--fork-function`` does; so does every
function a middleware lists in its ``forks`` property (the worker processes report them to the
master, which imports no application code itself).

The master starts them once every worker process reported ready, or once
``--worker-fork-timeout`` ms passed since the workers started, whichever comes first (so a fork
function that talks to the workers finds them running). A fork process exits with FUNCTION's
return value (None: 0); SIGTERM and SIGHUP end it with 0, SIGINT is left to the master, which
forwards its stop as SIGTERM. The master does not restart a fork process that ends on its own;
on HUP (reload) it stops them and starts them again after the fresh worker processes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterable
from types import FrameType
from typing import Any

from ..logging_setup import flush_logging
from .modules import add_import_paths

logger = logging.getLogger("taskq.supervisor")

#: Signals a fork process receives blocked until it handles them (as worker processes do).
_FORK_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def import_fork_function(path: str) -> Any:
    """The callable at ``module:function`` (``function`` may be a dotted path)."""
    module_name, _, attribute = path.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    if not callable(value):
        raise TypeError(f"{path!r} is a {type(value).__name__}, not a function")
    return value


#: Status-pipe frame of a worker's middleware fork functions: ``F`` + hex of a JSON list + ``;``.
#: Hex digits never collide with the pipe's one-byte statuses (``R``, ``.``, ``S``).
FORKS_FRAME = b"F"
_FRAME_END = b";"


def middleware_fork_paths(middleware: Iterable[Any]) -> list[str]:
    """``module:function`` paths of the ``forks`` of ``middleware`` that a fork process can
    import; a fork that is no module-level function is logged and left out."""
    paths: list[str] = []
    for m in middleware:
        for function in getattr(m, "forks", ()):
            path = f"{function.__module__}:{function.__qualname__}"
            try:
                found = import_fork_function(path) == function
            except Exception:
                found = False
            if not found:
                logger.warning(
                    "%s lists the fork function %r, which cannot run in a fork process: only "
                    "module-level functions can. Skipping it.",
                    type(m).__name__,
                    function,
                )
            elif path not in paths:
                paths.append(path)
    return paths


def encode_fork_paths(paths: list[str]) -> bytes:
    """The status-pipe frame reporting ``paths`` to the master."""
    return FORKS_FRAME + json.dumps(paths).encode().hex().encode() + _FRAME_END


def decode_fork_paths(data: bytes) -> tuple[list[str], bytes]:
    """The fork paths in the complete frames of ``data``, and its unfinished tail."""
    paths: list[str] = []
    while FORKS_FRAME in data:
        start = data.index(FORKS_FRAME)
        end = data.find(_FRAME_END, start)
        if end < 0:
            return paths, data[start:]
        try:
            paths += json.loads(bytes.fromhex(data[start + 1 : end].decode()))
        except ValueError:
            logger.warning("Ignored a malformed fork report from a worker process.")
        data = data[end + 1 :]
    return paths, b""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run_fork_function(path: str, paths: Iterable[str]) -> int:
    """The body of a fork process: import ``path`` and call it; returns the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORK_SIGNALS)
    add_import_paths(paths)
    try:
        function = import_fork_function(path)
    except Exception:
        sys.stderr.write(f"taskq: cannot load the fork function {path!r}:\n")
        traceback.print_exc()
        return 2
    logger.info("Fork process %d runs %s.", os.getpid(), path)
    result = function()
    return result if isinstance(result, int) else 0


class ForkChild:
    """One running fork process, as the master sees it."""

    def __init__(self, path: str, pid: int) -> None:
        self.path = path
        self.pid = pid
        self.returncode: int | None = None

    def poll_exit(self) -> int | None:
        """The return code once the process has exited (negative: killed by that signal)."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` unless the process is already gone."""
        if self.poll_exit() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def start_fork_child(path: str, paths: Iterable[str]) -> ForkChild:
    """Fork a process that runs the function at ``path``."""
    paths = list(paths)
    flush_logging()
    master_pid = os.getpid()
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_SIGNALS)
    try:
        pid = os.fork()
    finally:
        if os.getpid() == master_pid:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    if pid == 0:  # the fork process: never return into the master's code
        exit_code = 1
        try:
            exit_code = run_fork_function(path, paths)
        except SystemExit as e:
            exit_code = e.code if isinstance(e.code, int) else 0
        except BaseException:
            traceback.print_exc()
        finally:
            flush_logging()
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(exit_code)
    return ForkChild(path, pid)


class ForkPool:
    """The master's fork processes: started once per generation of worker processes, when
    they are all ready or ``worker_fork_timeout`` ms after they started."""

    def __init__(self, paths: list[str], import_paths: list[str], worker_fork_timeout: float):
        self.paths = paths
        self.import_paths = import_paths
        self.worker_fork_timeout = worker_fork_timeout
        self.children: list[ForkChild] = []
        self.started = False
        self.generation_started = time.monotonic()

    def __bool__(self) -> bool:
        """True while a fork process has not been reaped."""
        return bool(self.children)

    def new_generation(self) -> None:
        """Fresh worker processes are starting: start the forks again once they are ready."""
        self.started = False
        self.generation_started = time.monotonic()

    def start_when_due(self, workers_ready: bool, middleware_paths: Iterable[str] = ()) -> None:
        """Start the fork processes if they are due (see the class doc): the
        ``--fork-function`` ones, then ``middleware_paths`` (what the workers reported)."""
        if self.started:
            return
        waited_ms = (time.monotonic() - self.generation_started) * 1000
        if not workers_ready and waited_ms < self.worker_fork_timeout:
            return
        self.started = True
        paths = list(dict.fromkeys([*self.paths, *middleware_paths]))  # each one once
        for path in paths:
            child = start_fork_child(path, self.import_paths)
            logger.debug("Started fork process %d for %s.", child.pid, path)
            self.children.append(child)

    def reap(self, stopping: bool) -> None:
        """Forget the fork processes that exited, logging how (a warning unless expected)."""
        for child in list(self.children):
            returncode = child.poll_exit()
            if returncode is None:
                continue
            self.children.remove(child)
            level = logging.INFO if stopping or returncode == 0 else logging.WARNING
            how = f"exit code {returncode}" if returncode >= 0 else f"signal {-returncode}"
            logger.log(level, "Fork process %d (%s) exited (%s).", child.pid, child.path, how)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to every running fork process."""
        for child in self.children:
            child.send_signal(signum)

    def kill(self) -> None:
        """Kill every fork process and wait until it is gone."""
        for child in self.children:
            child.send_signal(signal.SIGKILL)
            while child.poll_exit() is None:
                time.sleep(0.01)
        self.children.clear()
