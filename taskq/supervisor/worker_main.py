"""The main of one worker process: import the application, check the broker, run a Worker
until told to stop (signal, dead master, recycling limit), then stop gracefully.

Forked workers call :func:`run_worker_process` right after ``fork``; spawned ones start a fresh
interpreter that calls :func:`spawned_main`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from ..broker import Broker
from ..events.publisher import Events
from ..logging_setup import configure_logging
from ..middleware.middleware import Middleware
from ..worker import Worker
from .affinity import pin_worker_process
from .config import QUIET_STARTUP_ENV, ExitCode, WorkerOptions
from .forks import encode_fork_paths, middleware_fork_paths
from .group import SharedCompletions
from .heartbeat import BEAT, READY, STOPPING, AckWatch, HealthCheck, StatusPipe
from .modules import no_actors_warning
from .startup import StartupError, check_broker, import_application, quiet_startup

logger = logging.getLogger("taskq.worker_process")

#: How often (seconds) the worker process checks its master and its limits and sends its
#: heartbeat to the master; a stop request (signal, recycling) wakes it at once.
POLL_INTERVAL = 1.0


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
        self,
        options: WorkerOptions,
        *,
        master_pid: int,
        ready_fd: int | None,
        slot: int = 0,
        completions: SharedCompletions | None = None,
        pinned: bool = False,
    ) -> None:
        self.options = options
        #: The group's completion counts (None: this process counts only its own).
        self.completions = completions
        #: Whether this process stays on one core: its threads' hand-offs are cheap there, so
        #: every thread runs (the thread governor is for processes that move between cores).
        self.pinned = pinned
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
        quiet = quiet_startup.set(os.environ.pop(QUIET_STARTUP_ENV, None) == "1")
        try:
            broker, modules = import_application(self.options)
            if self.options.events:
                add_events_middleware(broker)
            add_metrics_middleware(broker)
            check_broker(broker)
        except StartupError as e:
            return int(e.exit_code)
        finally:
            quiet_startup.reset(quiet)
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
            group=self.completions,
            group_slot=self.slot,
            adaptive_threads=False if self.pinned else None,
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
    options: WorkerOptions,
    *,
    master_pid: int,
    ready_fd: int | None,
    slot: int = 0,
    completions: SharedCompletions | None = None,
) -> int:
    """Run a worker process to completion and return its exit code (never raises)."""
    process: WorkerMain | None = None
    try:
        core = pin_worker_process(slot, options.processes, options.cpu_affinity)
        if core is not None:
            logger.debug("Worker process %d runs on core %d.", slot, core)
        process = WorkerMain(
            options,
            master_pid=master_pid,
            ready_fd=ready_fd,
            slot=slot,
            completions=completions,
            pinned=core is not None,
        )
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
