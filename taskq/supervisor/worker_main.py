"""The main of one worker process: import the application, check the broker, run a Worker
until told to stop (signal, dead master, recycling limit), then stop gracefully.

Forked workers call :func:`run_worker_process` right after ``fork``; spawned ones start a fresh
interpreter that calls :func:`spawned_main`.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import os
import re
import select
import signal
import sys
import threading
import time
import traceback
from types import FrameType, ModuleType
from typing import Any

from ..broker import Broker
from ..common import mask_url
from ..events.publisher import Events
from ..global_broker import get_broker
from ..logging_setup import configure_logging
from ..middleware.middleware import Middleware
from ..worker import Worker
from .children import QUIET_STARTUP_ENV
from .config import ExitCode, WorkerOptions, broker_error_exit_code
from .forks import encode_fork_paths, middleware_fork_paths
from .heartbeat import BEAT, READY, STOPPING, AckWatch, HealthCheck, StatusPipe
from .modules import add_import_paths, no_actors_warning

logger = logging.getLogger("taskq.worker_process")

#: How often (seconds) the worker process checks its master and its limits and sends its
#: heartbeat to the master; a stop request (signal, recycling) wakes it at once.
POLL_INTERVAL = 1.0

_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


class StartupError(Exception):
    """The worker process cannot start; ``exit_code`` says why."""

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class StopRequest:
    """Why the worker process should stop, set from signal handlers and the main loop."""

    def __init__(self) -> None:
        self.reason: str | None = None
        # A self-pipe: request() may run in a signal handler or another thread and must wake
        # the main loop blocked in wait().
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    def request(self, reason: str) -> None:
        """Ask for a graceful stop; the first reason wins."""
        if self.reason is None:
            self.reason = reason
        with contextlib.suppress(OSError):  # the pipe is full (already woken) or closed
            os.write(self._wake_write, b"!")

    def wait(self, timeout: float) -> None:
        """Block until a stop is requested or ``timeout`` seconds pass."""
        if self.reason is not None:
            return
        try:
            readable, _, _ = select.select([self._wake_read], [], [], timeout)
            if readable:
                os.read(self._wake_read, 512)
        except (OSError, ValueError):
            time.sleep(timeout)  # the pipe was closed: fall back to polling

    def close(self) -> None:
        """Release the wake-up pipe."""
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: INT and TERM ask for a graceful stop (the master kills if needed)."""
        self.request(f"received {signal.Signals(signum).name}")


#: True while a worker process started beside the first one imports and checks: its start-up
#: errors are the first one's to report (see ``QUIET_STARTUP_ENV``). Only taskq's own messages
#: are held back; whatever the application writes to stderr is left alone.
_quiet_startup: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "taskq_quiet_startup", default=False
)


def _report_startup_error(text: str, *, trace: bool = False) -> None:
    """Write a start-up error (and, with ``trace``, the exception being handled) to stderr."""
    if _quiet_startup.get():
        return
    sys.stderr.write(text)
    if trace:
        traceback.print_exc()


def import_application(options: WorkerOptions) -> tuple[Broker, dict[str, ModuleType]]:
    """Import every module; return the broker (``module:VAR`` names it, else the global one)
    and the imported modules by their command-line spec."""
    add_import_paths(options.paths)

    broker: Any = None
    modules: dict[str, ModuleType] = {}
    for spec in options.modules:
        module_name, _, variable = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            _raise_if_broker_error(e, f"importing {module_name}")
            if _is_missing(e, module_name):
                message = f"taskq: cannot import module {module_name!r}: {e}"
                _report_startup_error(message + "\n")
                raise StartupError(ExitCode.IMPORT_OR_USAGE, message) from e
            _report_startup_error(f"taskq: cannot import module {module_name!r}:\n", trace=True)
            raise StartupError(ExitCode.IMPORT_OR_USAGE, str(e)) from e
        modules[spec] = module
        if variable and broker is None:
            broker = _broker_variable(module, module_name, variable)
    if broker is None:
        try:
            broker = get_broker()
        except Exception as e:
            _raise_if_broker_error(e, "opening the broker")
            raise
    return broker, modules


def _broker_variable(module: ModuleType, module_name: str, variable: str) -> Any:
    """The Broker at ``module:variable`` (a dotted path such as ``Holder.broker`` too); a
    missing name or another kind of object is a one-line error and exit code 2."""
    value: Any = module
    for depth, name in enumerate(variable.split(".")):
        if not hasattr(value, name):
            where = ".".join(variable.split(".")[:depth]) or module_name
            message = (
                f"taskq: Module {module_name!r} does not define a {variable!r} variable."
                if depth == 0
                else f"taskq: {where!r} in module {module_name!r} has no attribute {name!r}."
            )
            _report_startup_error(message + "\n")
            raise StartupError(ExitCode.IMPORT_OR_USAGE, message)
        value = getattr(value, name)

    if not isinstance(value, Broker):
        message = (
            f"taskq: '{module_name}:{variable}' is not a Broker. It is a "
            f"{type(value).__name__}; name the variable that holds your broker."
        )
        _report_startup_error(message + "\n")
        raise StartupError(ExitCode.IMPORT_OR_USAGE, message)
    return value


def _raise_if_broker_error(error: BaseException, doing: str) -> None:
    """Raise :class:`StartupError` (one line on stderr) if ``error`` is about the broker."""
    code = broker_error_exit_code(error)
    if code is None:
        return
    url = os.environ.get("TASKQ_BROKER_URL")
    location = mask_url(url) if url else "the broker"
    verb = "reach" if code == ExitCode.BROKER_UNREACHABLE else "use"
    message = _one_line(f"taskq: cannot {verb} {location} ({doing}): {_masked(error)}")
    _report_startup_error(message + "\n")
    raise StartupError(code, message) from error


def _is_missing(error: BaseException, module_name: str) -> bool:
    """True when ``error`` says ``module_name`` itself (or a package of it) does not exist, as
    opposed to an import inside it failing (which deserves its traceback)."""
    missing = getattr(error, "name", None)
    return (
        isinstance(error, ModuleNotFoundError)
        and bool(missing)
        and (module_name == missing or module_name.startswith(f"{missing}."))
    )


def _masked(error: BaseException) -> str:
    return _URL_PASSWORD_RE.sub(r"\1:***@", str(error) or repr(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def add_events_middleware(broker: Broker) -> None:
    """Add the :class:`~taskq.events.publisher.Events` middleware unless already there."""

    broker.ensure_middleware(Events)


def add_metrics_middleware(broker: Broker) -> None:
    """When the master serves metrics (it exported ``TASKQ_METRICS_MASTER_PID``), give
    ``broker`` the Prometheus middleware, first in the stack, unless it has one. (It is not in
    ``default_middleware``, as in Dramatiq 2, so metrics come from ``taskq worker`` itself.)"""
    if not os.environ.get("TASKQ_METRICS_MASTER_PID"):
        return
    try:
        from ..metrics.prometheus import Prometheus
    except ImportError:  # prometheus-client is not installed
        return
    first = type(broker.middleware[0]) if broker.middleware else None
    broker.ensure_middleware(Prometheus, before=first)


def describe_broker(broker: Broker) -> str:
    """The broker's location, passwords masked, for error messages."""
    url = getattr(broker, "url", None) or os.environ.get("TASKQ_BROKER_URL")
    if url:
        return mask_url(str(url))
    path = getattr(broker, "path", None)
    return f"sqlite:///{path}" if path else repr(broker)


def check_broker(broker: Broker) -> None:
    """Raise :class:`StartupError` if the broker cannot be used: exit 3 when it cannot be
    reached, 2 when its file is wrong (not a database, damaged, read-only)."""
    ping = getattr(broker, "ping", None)
    try:
        if callable(ping):
            ping()
        else:
            broker.queue_stats()
    except Exception as e:
        code = broker_error_exit_code(e) or ExitCode.BROKER_UNREACHABLE
        verb = "reach" if code == ExitCode.BROKER_UNREACHABLE else "use"
        message = f"taskq: cannot {verb} the broker at {describe_broker(broker)}: {_masked(e)}"
        _report_startup_error(_one_line(message) + "\n")
        raise StartupError(code, message) from e


def resident_memory_mb() -> float:
    """This process's resident set size in MB (0 when it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return float(psutil.Process().memory_info().rss) / (1024 * 1024)
        except Exception:
            return 0.0


class RecycleAfter(Middleware):
    """Stops taking messages after ``limit`` of them and asks the process to stop, so a
    ``--max-tasks-per-child`` process runs (about) exactly ``limit`` messages."""

    def __init__(self, limit: int, stop_request: StopRequest) -> None:
        self.limit = limit
        self.stop_request = stop_request
        self.count = 0
        self.worker: Worker | None = None
        self._lock = threading.Lock()

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.worker = worker

    def after_process_message(
        self,
        broker: Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._count()

    def after_skip_message(self, broker: Broker, message: Any) -> None:
        self._count()

    def _count(self) -> None:
        with self._lock:
            self.count += 1
            reached = self.count >= self.limit
        if reached and self.stop_request.reason is None:
            if self.worker is not None:
                self.worker.pause()
            self.stop_request.request(f"recycling after {self.count} message(s)")


class WorkerMain:
    """The main of one ``taskq worker`` child process: a :class:`~taskq.Worker` plus the reasons
    it stops. (Not :class:`taskq.notebook.WorkerProcess`, a notebook's handle on a whole
    ``taskq worker`` group it launched.)"""

    def __init__(
        self, options: WorkerOptions, *, master_pid: int, ready_fd: int | None, slot: int = 0
    ) -> None:
        self.options = options
        self.master_pid = master_pid
        #: Ready report, then heartbeats, then the stop notice, to the master.
        self.status = StatusPipe(ready_fd)
        self.slot = slot
        self.stop_request = StopRequest()
        self.acks = AckWatch()
        self.health = HealthCheck(self.acks)

    def install_signal_handlers(self) -> None:
        """INT/TERM stop gracefully; HUP belongs to the master (it restarts us)."""
        signal.signal(signal.SIGINT, self.stop_request.handle_signal)
        signal.signal(signal.SIGTERM, self.stop_request.handle_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # A forked worker starts with them blocked (see start_worker_child): deliver them now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))

    def run(self) -> int:
        """Import, check, run until asked to stop; returns the exit code."""
        self.install_signal_handlers()
        # A process started beside the first one leaves start-up errors for it to report.
        quiet = _quiet_startup.set(os.environ.pop(QUIET_STARTUP_ENV, None) == "1")
        try:
            broker, modules = import_application(self.options)
            if self.options.events:
                add_events_middleware(broker)
            add_metrics_middleware(broker)
            check_broker(broker)
        except StartupError as e:
            return int(e.exit_code)
        finally:
            _quiet_startup.reset(quiet)
        if self.stop_request.reason:
            return int(ExitCode.OK)
        if not broker.get_declared_actors() and self.slot == 0:
            logger.warning(no_actors_warning(modules, self.options.paths))
        if self.options.max_tasks_per_child is not None:
            broker.add_middleware(RecycleAfter(self.options.max_tasks_per_child, self.stop_request))
        broker.add_middleware(self.acks)
        broker.emit_after("process_boot")  # the application is imported, as in Dramatiq

        worker = Worker(
            broker,
            queues=self.options.queues,
            worker_threads=self.options.threads,
            prefetch=self.options.prefetch,
        )
        worker.start()
        logger.info(
            "Worker process started: %d thread(s), queues %s.",
            self.options.threads,
            ", ".join(sorted(worker.consumers)) or "(none declared)",
            extra={"event": "worker_started", "threads": self.options.threads},
        )
        fork_paths = middleware_fork_paths(broker.middleware)
        if fork_paths:
            self.status.send(encode_fork_paths(fork_paths))
        self.status.send(READY)
        reason = self._wait_for_stop(worker)
        logger.info("Worker process stopping: %s.", reason, extra={"event": "worker_stopping"})
        self.status.send(STOPPING)
        worker.stop(timeout=self.options.shutdown_timeout)
        try:
            broker.close()
        except Exception:
            logger.debug("Error while closing the broker.", exc_info=True)
        logger.info(
            "Worker process stopped after %d message(s).",
            worker.processed,
            extra={"event": "worker_stopped", "processed": worker.processed},
        )
        return int(ExitCode.OK)

    def _wait_for_stop(self, worker: Worker) -> str:
        stuck: str | None = None
        while self.stop_request.reason is None:
            self.stop_request.wait(POLL_INTERVAL)
            self._check_limits(worker)
            if self.health.check(worker):
                self.status.send(BEAT)
                if stuck is not None:
                    logger.info("Worker process making progress again.")
                stuck = None
            elif stuck is None:
                stuck = self.health.problem
                logger.warning(
                    "Worker process stuck: %s; no heartbeat to the master until it recovers.",
                    stuck,
                    extra={"event": "worker_stuck"},
                )
        return self.stop_request.reason

    def _check_limits(self, worker: Worker) -> None:
        if os.getppid() != self.master_pid:
            self.stop_request.request(f"the master process {self.master_pid} is gone")
        max_memory = self.options.max_memory_per_child
        if max_memory is not None:
            rss = resident_memory_mb()
            if rss > max_memory:
                self.stop_request.request(f"recycling at {rss:.0f} MB resident (> {max_memory})")


def run_worker_process(
    options: WorkerOptions, *, master_pid: int, ready_fd: int | None, slot: int = 0
) -> int:
    """Run a worker process to completion and return its exit code (never raises)."""
    process: WorkerMain | None = None
    try:
        process = WorkerMain(options, master_pid=master_pid, ready_fd=ready_fd, slot=slot)
        return process.run()
    except Exception:
        logger.exception("Worker process crashed.", extra={"event": "worker_crashed"})
        return 1
    finally:
        if process is not None:
            process.stop_request.close()
            process.status.close()


def spawned_main(argv: list[str] | None = None) -> int:
    """Entry point of a spawned worker process: ``OPTIONS_JSON MASTER_PID STATUS_FD [SLOT]``."""
    args = argv if argv is not None else sys.argv[1:]
    options_json, master_pid, ready_fd = args[:3]
    slot = int(args[3]) if len(args) > 3 else 0
    options = WorkerOptions.from_json(options_json)
    configure_logging(
        verbose=options.verbose, log_file=options.log_file, log_format=options.log_format
    )
    return run_worker_process(
        options, master_pid=int(master_pid), ready_fd=int(ready_fd), slot=slot
    )
