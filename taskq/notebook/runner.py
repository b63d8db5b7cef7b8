"""``run_worker()``: run ``taskq worker`` beside a notebook, stopped when the kernel shuts down."""

from __future__ import annotations

import atexit
import contextlib
import html
import os
import signal
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

from ..common import mask_url

_running: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


class WorkerProcess:
    """A ``taskq worker`` subprocess. ``stop()`` drains it gracefully (TERM, then KILL after
    ``timeout`` ms); it is also stopped at interpreter exit, i.e. at kernel shutdown or restart.
    Its output goes to ``log_path`` (``logs()`` reads it)."""

    def __init__(
        self, command: list[str], env: dict[str, str], cwd: str, broker_url: str | None
    ) -> None:
        self.command = command
        self.broker_url = broker_url
        log = tempfile.NamedTemporaryFile(prefix="taskq-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(log.name)
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C / interrupt of the kernel does not reach it
        )
        log.close()
        _running.add(self)

    @property
    def pid(self) -> int:
        """The worker master's process id."""
        return self.process.pid

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once stopped (0 graceful, 2 import error, 3 broker unreachable...)."""
        return self.process.poll()

    def logs(self, tail: int = 50) -> str:
        """The last ``tail`` lines the worker printed."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def stop(self, timeout: int = 10_000) -> int | None:
        """Stop gracefully (SIGTERM: running messages finish, prefetched ones are requeued);
        kill after ``timeout`` ms. Returns the exit code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout / 1000)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        _running.discard(self)
        return self.process.returncode

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _state(self) -> str:
        code = self.returncode
        return "running" if code is None else f"exited with code {code}"

    def __repr__(self) -> str:
        return f"<taskq worker pid={self.pid} {self._state()} broker={mask_url(self.broker_url) if self.broker_url else 'default'}>"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>taskq worker</b> pid {self.pid}, {html.escape(self._state())}, "
            f"<code>{html.escape(' '.join(self.command[2:]))}</code></div>"
        )


def run_worker(
    module: str | Sequence[str],
    *,
    processes: int = 1,
    threads: int = 8,
    broker_url: str | None = None,
    paths: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
    events: bool = True,
    extra_args: Sequence[str] = (),
) -> WorkerProcess:
    """Start ``taskq worker MODULE -p PROCESSES -t THREADS`` as a subprocess of this kernel.

    The module must be importable by the worker: it runs in this process's working directory with
    ``paths`` (default: the working directory) and this process's ``sys.path`` on its path.
    ``broker_url`` defaults to ``TASKQ_BROKER_URL`` (else the embedded SQLite broker); ``events``
    turns on lifecycle events so that :func:`watch` shows messages as they start.
    """
    modules = [module] if isinstance(module, str) else list(module)
    cwd = os.getcwd()
    env = dict(os.environ)
    search_path = [os.path.abspath(p) for p in (paths or [cwd])]
    env["PYTHONPATH"] = os.pathsep.join(
        [*search_path, *(p for p in sys.path if p and os.path.isdir(p))]
    )
    broker_url = broker_url or os.environ.get("TASKQ_BROKER_URL")
    command = [
        sys.executable,
        "-m",
        "taskq",
        "worker",
        *modules,
        "-p",
        str(processes),
        "-t",
        str(threads),
    ]
    if broker_url:  # by environment, not argv: a password would show in `ps`
        env["TASKQ_BROKER_URL"] = broker_url
    for path in search_path:
        command += ["--path", path]
    if queues:
        command += ["--queues", *queues]
    if events:
        command.append("--events")
    command += list(extra_args)
    return WorkerProcess(command, env, cwd, broker_url)


@atexit.register
def _stop_all_workers() -> None:
    for worker in list(_running):
        with contextlib.suppress(Exception):
            worker.stop(timeout=5_000)
