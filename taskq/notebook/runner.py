"""``run_worker()``: a worker inside the kernel (no module: actors defined in cells), or
``taskq worker MODULE`` processes beside the notebook, reloaded when the module's files are
saved; either is stopped when the kernel shuts down."""

from __future__ import annotations

import atexit
import contextlib
import html
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..cli.worker import worker_command
from ..common import mask_url
from .reload import ModuleWatcher, Reload, module_folders

if TYPE_CHECKING:
    from ..broker import Broker
    from .kernel_worker import KernelWorker

#: What the worker prints when a module does not import (see taskq.supervisor.worker_main).
IMPORT_ERROR_MARK = "cannot import module"
#: What it logs once a worker process runs.
STARTED_MARK = "Worker process started"

_running: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


class WorkerProcess:
    """A ``taskq worker`` subprocess. ``stop()`` drains it gracefully (TERM, then KILL after
    ``timeout`` ms); it is also stopped at interpreter exit, i.e. at kernel shutdown or restart.
    Its output goes to ``log_path`` (``logs()`` reads it). ``reload()`` sends HUP: the workers
    finish what they run and restart with freshly imported code; :func:`run_worker` does it
    whenever a Python file of the module's folder is saved (``reloads`` lists when)."""

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
        #: Every reload so far, oldest first.
        self.reloads: list[Reload] = []
        self.watcher: ModuleWatcher | None = None
        self._view: Any = None

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
        """The exit code once stopped (see :mod:`taskq.exit_codes`)."""
        return self.process.poll()

    def logs(self, tail: int = 50) -> str:
        """The last ``tail`` lines the worker printed."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def import_error(self) -> str | None:
        """The worker's latest import error (the message and traceback it printed), unless a
        worker process started fine since."""
        lines = self.logs(tail=400).splitlines()
        marks = [i for i, line in enumerate(lines) if IMPORT_ERROR_MARK in line]
        if not marks:
            return None
        start = marks[-1]
        if any(STARTED_MARK in line for line in lines[start + 1 :]):
            return None
        error = [lines[start]]
        for line in lines[start + 1 : start + 40]:
            if "taskq.supervisor" in line:  # the master's own log record: the error ended
                break
            error.append(line)
        return "\n".join(error)

    def reload(self, files: Sequence[str] = ()) -> None:
        """Reload the workers (SIGHUP): running messages finish, then fresh worker processes
        import the code again; the master process stays."""
        if self.running:
            self.reloads.append(Reload(time.time(), list(files)))
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGHUP)
            if self._view is not None:
                self._view.refresh()

    def watch(self, folders: Sequence[str]) -> None:
        """Reload whenever a Python file under ``folders`` is saved (needs watchfiles)."""
        self.watcher = ModuleWatcher(folders, self.reload).start()

    def show(self) -> WorkerProcess:
        """Display a live status (state, reloads, log tail, import error) in Jupyter."""
        from ._env import widgets_available

        if self._view is None and widgets_available():
            from ._widget_views import StatusWidget

            self._view = StatusWidget(self)
        return self

    def stop(self, timeout: int = 10_000) -> int | None:
        """Stop gracefully (SIGTERM: running messages finish, prefetched ones are requeued);
        kill after ``timeout`` ms. Returns the exit code."""
        if self.watcher is not None:
            self.watcher.stop()
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
        if self._view is not None:
            self._view.refresh(final=True)
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

    def _reload_text(self) -> str:
        if not self.reloads:
            return ""
        last = self.reloads[-1]
        files = ", ".join(os.path.basename(f) for f in last.files) or "on request"
        when = time.strftime("%H:%M:%S", time.localtime(last.at))
        return f"reloaded {len(self.reloads)}x, last at {when} ({files})"

    def to_text(self) -> str:
        """State, reloads, import error and the log's last lines, as text."""
        parts = [repr(self)]
        if self.reloads:
            parts.append(self._reload_text())
        error = self.import_error()
        if error:
            parts.append("import error:\n" + error)
        tail = self.logs(tail=8)
        if tail:
            parts.append("log:\n" + tail)
        return "\n".join(parts)

    def to_html(self) -> str:
        """The same as :meth:`to_text`, as static HTML."""
        out = (
            f"<div><b>taskq worker</b> pid {self.pid}, {html.escape(self._state())}, "
            f"<code>{html.escape(' '.join(self.command[2:]))}</code></div>"
        )
        if self.reloads:
            out += f"<div style='color:#2563eb'>{html.escape(self._reload_text())}</div>"
        error = self.import_error()
        if error:
            out += (
                "<div style='color:#dc2626'><b>import error</b></div>"
                f"<pre style='color:#dc2626;font-size:11px'>{html.escape(error)}</pre>"
            )
        tail = self.logs(tail=8)
        if tail:
            out += (
                "<details><summary>log</summary>"
                f"<pre style='font-size:11px;white-space:pre-wrap'>{html.escape(tail)}</pre>"
                "</details>"
            )
        return out

    def _repr_html_(self) -> str:
        return self.to_html()


@overload
def run_worker(
    module: None = None,
    *,
    threads: int = 8,
    queues: Sequence[str] | None = None,
    events: bool = True,
    broker: Broker | None = None,
    show: bool = True,
) -> KernelWorker: ...
@overload
def run_worker(
    module: str | Sequence[str],
    *,
    processes: int = 1,
    threads: int = 8,
    broker_url: str | None = None,
    paths: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
    events: bool = True,
    reload: bool = True,
    extra_args: Sequence[str] = (),
    show: bool = True,
) -> WorkerProcess: ...
def run_worker(
    module: str | Sequence[str] | None = None,
    *,
    processes: int = 1,
    threads: int = 8,
    broker_url: str | None = None,
    paths: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
    events: bool = True,
    reload: bool = True,
    extra_args: Sequence[str] = (),
    broker: Broker | None = None,
    show: bool = True,
) -> KernelWorker | WorkerProcess:
    """Run a worker for this notebook; it stops with ``.stop()`` or when the kernel shuts down.

    **No module**: a worker inside the kernel (``threads`` threads, greenlets under gevent)
    serving every actor declared on ``broker`` (default: the current broker), those defined in
    later cells included; re-running an actor's cell replaces the function that runs next.
    Cells keep running meanwhile. Returns a :class:`~taskq.notebook.kernel_worker.KernelWorker`.

    **A module**: ``taskq worker MODULE -p PROCESSES -t THREADS`` as a subprocess, for CPU-bound
    work, isolation or parity with production. The module must be importable by the worker: it
    runs in this process's working directory with ``paths`` (default: the working directory)
    and this process's ``sys.path`` on its path. ``broker_url`` defaults to
    ``TASKQ_BROKER_URL`` (else the embedded SQLite broker). With ``reload`` (and watchfiles
    installed) saving any Python file in the module's folder reloads the workers (HUP).

    ``events`` turns on lifecycle events so that :func:`watch` shows messages as they start;
    ``show`` displays a live status widget in Jupyter.
    """
    if module is None:
        return _run_in_kernel(broker, threads=threads, queues=queues, events=events, show=show)
    if broker is not None:
        raise TypeError(
            "run_worker(module, broker=...): a worker process builds its broker from the module "
            "or broker_url=; pass broker= only without a module (the in-kernel worker)"
        )
    modules = [module] if isinstance(module, str) else list(module)
    cwd = os.getcwd()
    env = dict(os.environ)
    search_path = [os.path.abspath(p) for p in (paths or [cwd])]
    env["PYTHONPATH"] = os.pathsep.join(
        [*search_path, *(p for p in sys.path if p and os.path.isdir(p))]
    )
    broker_url = broker_url or os.environ.get("TASKQ_BROKER_URL")
    command = worker_command(
        modules,
        processes=processes,
        threads=threads,
        paths=search_path,
        queues=queues or (),
        events=events,
        extra_args=extra_args,
    )
    if broker_url:  # by environment, not argv: a password would show in `ps`
        env["TASKQ_BROKER_URL"] = broker_url
    worker = WorkerProcess(command, env, cwd, broker_url)
    if reload:
        try:
            worker.watch(module_folders(modules, search_path))
        except ImportError:
            logging.getLogger("taskq.notebook").info(
                "not reloading on save: pip install 'taskq[watch]' for watchfiles"
            )
    return worker.show() if show else worker


def _run_in_kernel(
    broker: Broker | None,
    *,
    threads: int,
    queues: Sequence[str] | None,
    events: bool,
    show: bool,
) -> KernelWorker:
    from .kernel_worker import KernelWorker, running_kernel_workers
    from .setup import setup_broker

    broker = setup_broker(broker, events=events)
    for previous in running_kernel_workers():
        if previous.broker is broker:  # the worker cell ran again: one worker, not two
            previous.stop()
    return KernelWorker(broker, threads=threads, queues=queues, show=show)


@atexit.register
def _stop_all_workers() -> None:
    for worker in list(_running):
        with contextlib.suppress(Exception):
            worker.stop(timeout=5_000)
