"""The main of one worker process: import the application, check the broker, run a Worker
until told to stop (signal, dead master, recycling limit), then stop gracefully.

Forked workers call :func:`run_worker_process` right after ``fork``; spawned ones start a fresh
interpreter that calls :func:`spawned_main`.
"""

from __future__ import annotations

import contextlib
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
from types import FrameType
from typing import TYPE_CHECKING, Any

from .common import mask_url
from .logging_setup import configure_logging
from .middleware.middleware import Middleware
from .supervisor_config import ExitCode, WorkerOptions

if TYPE_CHECKING:
    from .broker import Broker
    from .worker import Worker

logger = logging.getLogger("taskq.worker_process")

#: How often (seconds) the worker process checks its master and its limits; a stop request
#: (signal, recycling) wakes it at once.
POLL_INTERVAL = 1.0
#: Written to the ready pipe once the Worker runs.
READY = b"R"

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


def import_application(options: WorkerOptions) -> Broker:
    """Import every module and return the broker: ``module:VAR`` names it, else the global one."""
    for path in reversed(options.paths):
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)
    importlib.invalidate_caches()
    from .broker import Broker, get_broker

    broker: Any = None
    for spec in options.modules:
        module_name, _, variable = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            if is_broker_unreachable(e):
                url = os.environ.get("TASKQ_BROKER_URL")
                location = mask_url(url) if url else "the broker"
                message = f"taskq: cannot reach {location} (importing {module_name}): {_masked(e)}"
                sys.stderr.write(message + "\n")
                raise StartupError(ExitCode.BROKER_UNREACHABLE, message) from e
            sys.stderr.write(f"taskq: cannot import module {module_name!r}:\n")
            traceback.print_exc()
            raise StartupError(ExitCode.IMPORT_OR_USAGE, str(e)) from e
        if variable and broker is None:
            broker = getattr(module, variable, None)
            if not isinstance(broker, Broker):
                message = (
                    f"taskq: {module_name}.{variable} is {type(broker).__name__}, not a broker; "
                    f"name the variable that holds your Broker"
                )
                sys.stderr.write(message + "\n")
                raise StartupError(ExitCode.IMPORT_OR_USAGE, message)
    return broker if broker is not None else get_broker()


def is_broker_unreachable(error: BaseException) -> bool:
    """True for errors that mean the broker cannot be reached or opened (exit 3, not 2)."""
    from .errors import ActorNotFound, BrokerError, QueueNotFound

    return isinstance(error, BrokerError) and not isinstance(error, ActorNotFound | QueueNotFound)


def _masked(error: BaseException) -> str:
    return _URL_PASSWORD_RE.sub(r"\1:***@", str(error) or type(error).__name__)


def add_events_middleware(broker: Broker) -> None:
    """Add ``taskq.middleware.events.Events`` unless missing from this build or already there."""
    try:
        from .middleware.events import Events
    except ImportError:
        logger.warning("--events: taskq.middleware.events is not available in this build.")
        return
    if broker.get_middleware(Events) is None:
        broker.add_middleware(Events())


def describe_broker(broker: Broker) -> str:
    """The broker's location, passwords masked, for error messages."""
    url = getattr(broker, "url", None) or os.environ.get("TASKQ_BROKER_URL")
    if url:
        return mask_url(str(url))
    path = getattr(broker, "path", None)
    return f"sqlite:///{path}" if path else repr(broker)


def check_broker(broker: Broker) -> None:
    """Raise :class:`StartupError` (exit 3) if the broker cannot be reached."""
    ping = getattr(broker, "ping", None)
    try:
        if callable(ping):
            ping()
        else:
            broker.queue_stats()
    except Exception as e:
        message = f"taskq: cannot reach the broker at {describe_broker(broker)}: {_masked(e)}"
        sys.stderr.write(message + "\n")
        raise StartupError(ExitCode.BROKER_UNREACHABLE, message) from e


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


class WorkerProcess:
    """One worker process: a :class:`~taskq.Worker` plus the reasons it stops."""

    def __init__(self, options: WorkerOptions, *, master_pid: int, ready_fd: int | None) -> None:
        self.options = options
        self.master_pid = master_pid
        self.ready_fd = ready_fd
        self.stop_request = StopRequest()

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
        try:
            broker = import_application(self.options)
            if self.options.events:
                add_events_middleware(broker)
            check_broker(broker)
        except StartupError as e:
            return int(e.exit_code)
        if self.stop_request.reason:
            return int(ExitCode.OK)
        if self.options.max_tasks_per_child is not None:
            broker.add_middleware(RecycleAfter(self.options.max_tasks_per_child, self.stop_request))
        from .worker import Worker

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
        self._report_ready()
        reason = self._wait_for_stop(worker)
        logger.info("Worker process stopping: %s.", reason, extra={"event": "worker_stopping"})
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

    def _report_ready(self) -> None:
        if self.ready_fd is None:
            return
        try:
            os.write(self.ready_fd, READY)
            os.close(self.ready_fd)
        except OSError:
            pass  # the master is gone; the main loop notices
        self.ready_fd = None

    def _wait_for_stop(self, worker: Worker) -> str:
        while self.stop_request.reason is None:
            self.stop_request.wait(POLL_INTERVAL)
            self._check_limits(worker)
        return self.stop_request.reason

    def _check_limits(self, worker: Worker) -> None:
        if os.getppid() != self.master_pid:
            self.stop_request.request(f"the master process {self.master_pid} is gone")
        max_memory = self.options.max_memory_per_child
        if max_memory is not None:
            rss = resident_memory_mb()
            if rss > max_memory:
                self.stop_request.request(f"recycling at {rss:.0f} MB resident (> {max_memory})")


def run_worker_process(options: WorkerOptions, *, master_pid: int, ready_fd: int | None) -> int:
    """Run a worker process to completion and return its exit code (never raises)."""
    process: WorkerProcess | None = None
    try:
        process = WorkerProcess(options, master_pid=master_pid, ready_fd=ready_fd)
        return process.run()
    except Exception:
        logger.exception("Worker process crashed.", extra={"event": "worker_crashed"})
        return 1
    finally:
        if process is not None:
            process.stop_request.close()


def spawned_main(argv: list[str] | None = None) -> int:
    """Entry point of a spawned worker process: ``OPTIONS_JSON MASTER_PID READY_FD``."""
    options_json, master_pid, ready_fd = argv if argv is not None else sys.argv[1:4]
    options = WorkerOptions.from_json(options_json)
    configure_logging(
        verbose=options.verbose, log_file=options.log_file, log_format=options.log_format
    )
    return run_worker_process(options, master_pid=int(master_pid), ready_fd=int(ready_fd))
