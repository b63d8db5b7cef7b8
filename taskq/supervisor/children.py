"""Worker processes as the master sees them: start (fork or spawn), readiness and heartbeats
(read from a status pipe, see :mod:`taskq.supervisor.heartbeat`), signals, exit."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time

from ..logging_setup import flush_logging
from .config import QUIET_STARTUP_ENV, WorkerOptions
from .forks import FORKS_FRAME, decode_fork_paths
from .group import SharedCompletions
from .heartbeat import READY, STOPPING
from .worker_main import run_worker_process

#: The Python a spawned worker process runs: patch first when gevent is on, then the worker main.
_SPAWN_CODE = (
    "import sys; from taskq.supervisor.worker_main import spawned_main; sys.exit(spawned_main())"
)
#: Signals a forked worker process receives blocked; it unblocks them once it handles them.
WORKER_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_SPAWN_CODE_GEVENT = "from gevent import monkey; monkey.patch_all(); " + _SPAWN_CODE


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by signal SIGKILL``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {name}"
    return f"exit code {returncode}"


class WorkerChild:
    """One running worker process; ``slot`` is its place (0..processes-1) in the pool."""

    def __init__(
        self, slot: int, pid: int, ready_fd: int, popen: subprocess.Popen[bytes] | None = None
    ) -> None:
        self.slot = slot
        self.pid = pid
        self.started_at = time.monotonic()
        self.ready = False
        #: The process said it is stopping (its heartbeats end; its shutdown timeout applies).
        self.stopping = False
        #: When (``time.monotonic()``) the last heartbeat (or the ready report) arrived.
        self.last_beat = self.started_at
        #: Why the master is replacing this process, and when it kills it if still running.
        self.replaced_because: str | None = None
        self.kill_at: float | None = None
        self.returncode: int | None = None
        self._status_fd: int | None = ready_fd
        #: The ``forks`` of its middleware, as it reported them before it was ready.
        self.fork_paths: list[str] = []
        self._frame_tail = b""
        self._popen = popen

    def poll_ready(self) -> bool:
        """Read what the process reported; True once it said that its Worker runs."""
        self.poll_status()
        return self.ready

    def poll_status(self) -> None:
        """Read the status pipe: the ready report, heartbeats, the stop notice."""
        while self._status_fd is not None:
            try:
                data = os.read(self._status_fd, 4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # the process closed the pipe: it exited or is exiting
                self._close_status_fd()
                return
            self.last_beat = time.monotonic()
            if self._frame_tail or FORKS_FRAME in data:  # (hex inside: no status byte)
                paths, self._frame_tail = decode_fork_paths(self._frame_tail + data)
                self.fork_paths += paths
            self.ready = self.ready or READY in data
            self.stopping = self.stopping or STOPPING in data

    def silent_for(self) -> float:
        """Seconds since the last heartbeat."""
        return time.monotonic() - self.last_beat

    @property
    def ready_fd(self) -> int | None:
        """The pipe that becomes readable when the process reports ready (None once ready)."""
        return None if self.ready else self._status_fd

    def poll_exit(self) -> int | None:
        """The process's return code once it has exited (negative: killed by that signal)."""
        if self.returncode is not None:
            return self.returncode
        if self._popen is not None:
            self.returncode = self._popen.poll()
        else:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        if self.returncode is not None:
            self.poll_status()
            self._close_status_fd()
        return self.returncode

    @property
    def alive(self) -> bool:
        """True until the process has been reaped."""
        return self.poll_exit() is None

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` unless the process is already gone."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def uptime(self) -> float:
        """Seconds since the process was started."""
        return time.monotonic() - self.started_at

    def _close_status_fd(self) -> None:
        if self._status_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._status_fd)
            self._status_fd = None


def start_worker_child(
    options: WorkerOptions,
    slot: int,
    *,
    quiet: bool = False,
    completions: SharedCompletions | None = None,
) -> WorkerChild:
    """Fork (or, with ``options.spawn``, spawn) one worker process for ``slot``; ``quiet``:
    its start-up errors are left for the first process to report (see QUIET_STARTUP_ENV);
    ``completions``: the group's shared completion counts (a forked process inherits them)."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    master_pid = os.getpid()
    if options.spawn:
        code = _SPAWN_CODE_GEVENT if options.gevent else _SPAWN_CODE
        # The broker URL may carry a password: it travels in the environment, never in argv
        # (which `ps` shows to every user of the machine).
        env = dict(os.environ)
        if options.broker_url:
            env["TASKQ_BROKER_URL"] = options.broker_url
        if quiet:
            env[QUIET_STARTUP_ENV] = "1"
        public = dataclasses.replace(options, broker_url=None).to_json()
        argv = [sys.executable, "-c", code, public, str(master_pid), str(write_fd), str(slot)]
        popen = subprocess.Popen(argv, pass_fds=(write_fd,), env=env)
        os.close(write_fd)
        return WorkerChild(slot, popen.pid, read_fd, popen)
    flush_logging()
    # Until the worker process installs its own handlers, a signal would run the master's
    # handler in it and be lost; keep them pending (the worker unblocks them).
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)
    if quiet:
        os.environ[QUIET_STARTUP_ENV] = "1"
    try:
        pid = os.fork()
    finally:
        if os.getpid() == master_pid:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
            os.environ.pop(QUIET_STARTUP_ENV, None)
    if pid == 0:  # the worker process: never return into the master's code
        exit_code = 1
        try:
            os.close(read_fd)
            exit_code = run_worker_process(
                options,
                master_pid=master_pid,
                ready_fd=write_fd,
                slot=slot,
                completions=completions,
            )
        finally:
            flush_logging()
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(exit_code)
    os.close(write_fd)
    return WorkerChild(slot, pid, read_fd)
