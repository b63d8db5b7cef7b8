"""The master process of ``taskq worker``: starts the worker processes, replaces the ones that
die, forwards signals, reloads on HUP or file changes, and owns the pid file and metrics server.

Signals: INT/TERM stop gracefully (exit 0), a second INT/TERM kills the workers (exit 1), HUP
replaces every worker with a fresh process that re-imports the code (the master stays). A worker
process that sends no heartbeat for ``--heartbeat-timeout`` ms is stopped (killed after a grace)
and replaced, with a log line saying why (see :mod:`taskq.supervisor.heartbeat`).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .children import WorkerChild, describe_exit, start_worker_child
from .config import ExitCode, WorkerOptions
from .forks import ForkPool
from .group import SharedCompletions
from .heartbeat import kill_grace
from .metrics_endpoint import MetricsEndpoint
from .pidfile import PidFile, PidFileRefused
from .signals import MasterSignals
from .watch import FileWatcher

logger = logging.getLogger("taskq.supervisor")

#: Seconds between two rounds of the master's loop (reaping, signals, restarts).
TICK = 0.1
#: The same while every worker process runs and no file is watched: signals wake the loop at
#: once, so only the reaping of a crashed worker process waits (at most) this long.
IDLE_TICK = 1.0
#: Back-off before restarting a crashed worker process: first delay, cap (seconds).
RESTART_BACKOFF_FIRST = 0.5
RESTART_BACKOFF_MAX = 30.0
#: A worker process that ran this long before crashing resets its back-off.
STABLE_AFTER = 30.0


class Phase(Enum):
    """What the master is doing."""

    #: Waiting for the first worker process to be ready (after a reload, the others start
    #: once it is; on the first start, they all start at once).
    STARTING = "starting"
    RUNNING = "running"
    #: Waiting for the old worker processes to exit before starting fresh ones.
    RELOADING = "reloading"
    STOPPING = "stopping"
    KILLING = "killing"


@dataclass
class Slot:
    """One place in the pool of worker processes."""

    index: int
    child: WorkerChild | None = None
    failures: int = 0
    start_after: float = 0.0


class Supervisor:
    """Runs ``options.processes`` worker processes until stopped; :meth:`run` returns the exit
    code of ``taskq worker``."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.slots = [Slot(index) for index in range(options.processes)]
        self.phase = Phase.STARTING
        self.first_generation = True
        self.exit_code = ExitCode.OK
        self.restarts = 0
        self.signals = MasterSignals()
        self.watcher: Any = None
        self.metrics: MetricsEndpoint | None = None
        self.forks = ForkPool(options.forks, options.paths, options.worker_fork_timeout)
        # Forked worker processes inherit it; spawned ones each count their own completions.
        self.completions = None if options.spawn else SharedCompletions(options.processes)

    # -- public ---------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, supervise until stopped, clean up; returns the exit code."""
        pid_file = PidFile(self.options.pid_file) if self.options.pid_file else None
        if pid_file is not None:
            try:
                pid_file.acquire()
            except PidFileRefused as e:
                sys.stderr.write(f"taskq: {e}\n")
                return int(ExitCode.PID_FILE_IN_USE)
        self.signals.install()
        try:
            self.metrics = MetricsEndpoint(self.options.prom_port, self.health)
            self.metrics.prepare()
            self._start_watcher()
            logger.info(
                "Master process started: %d worker process(es) x %d thread(s).",
                self.options.processes,
                self.options.threads,
                extra={"event": "master_started"},
            )
            exit_code = self._supervise()
            logger.info("Master process exiting with code %d.", exit_code)
            return exit_code
        finally:
            self._kill_leftovers()
            if self.watcher is not None:
                self.watcher.stop()
            if self.metrics is not None:
                self.metrics.stop()
            self.signals.restore()
            if pid_file is not None:
                pid_file.release()

    def health(self) -> dict[str, Any]:
        """Liveness of the pool, for the metrics server's health endpoint."""
        alive = [s.child.pid for s in self.slots if s.child and s.child.returncode is None]
        expected = len(self.slots)
        return {
            "status": "ok" if len(alive) == expected else "degraded",
            "master_pid": os.getpid(),
            "phase": self.phase.value,
            "expected_children": expected,
            "alive_children": len(alive),
            "children": alive,
            "restarts": self.restarts,
        }

    # -- the loop -------------------------------------------------------------------------
    def _supervise(self) -> int:
        while True:
            self._handle_signals()
            self._check_watcher()
            self._check_heartbeats()
            self._reap_children()
            self.forks.reap(stopping=self.phase not in (Phase.STARTING, Phase.RUNNING))
            if not any(slot.child for slot in self.slots) and not self.forks:
                if self.phase in (Phase.STOPPING, Phase.KILLING):
                    return int(self.exit_code)
                if self.phase is Phase.RELOADING:
                    self.phase = Phase.STARTING
                    self.forks.new_generation()
                    logger.info("Starting worker processes with freshly imported code.")
            self._start_due_children()
            if self.metrics is not None:
                self.metrics.serve()
            if self.phase in (Phase.STARTING, Phase.RUNNING):
                ready = all(s.child and s.child.ready for s in self.slots)
                reported = [p for s in self.slots if s.child for p in s.child.fork_paths]
                self.forks.start_when_due(ready, reported)
            self._sleep()

    def _sleep(self) -> None:
        """Wait for the next round: a signal ends the wait early (see :class:`MasterSignals`),
        and so does a starting worker process reporting ready (the next ones start at once)."""
        timeout = TICK
        if self.phase is Phase.RUNNING and self.watcher is None:
            now = time.monotonic()
            due = [s.start_after - now for s in self.slots if s.child is None]
            timeout = max(TICK, min([IDLE_TICK, *due]))
        wake_fd = self.signals.wake_fd
        if wake_fd is None:
            time.sleep(timeout)
            return
        starting = [
            s.child.ready_fd for s in self.slots if s.child and s.child.ready_fd is not None
        ]
        readable, _, _ = select.select([wake_fd, *starting], [], [], timeout)
        if wake_fd in readable:
            self.signals.drain_wake()

    def _start_due_children(self) -> None:
        for slot in self.slots:  # reads each pending ready report, so _sleep never spins on it
            if slot.child is not None:
                slot.child.poll_ready()
        now = time.monotonic()
        if self.phase is Phase.STARTING:
            canary = self.slots[0]
            # The first start forks every process at once: each imports the application in
            # parallel, so a group spawned on a backlog consumes with all of them sooner. (A
            # start-up failure of any of them still ends the master with its exit code.) After
            # a reload the first process goes alone: new code that fails costs one process.
            for slot in self.slots if self.first_generation else [canary]:
                if slot.child is None and now >= slot.start_after:
                    self._start(slot)
            if canary.child is not None and canary.child.poll_ready():
                self.phase = Phase.RUNNING
                self.first_generation = False
        if self.phase is Phase.RUNNING:
            for slot in self.slots:
                if slot.child is None and now >= slot.start_after:
                    self._start(slot)

    def _start(self, slot: Slot) -> None:
        quiet = self.first_generation and slot.index != 0
        slot.child = start_worker_child(
            self.options, slot.index, quiet=quiet, completions=self.completions
        )
        logger.debug("Started worker process %d in slot %d.", slot.child.pid, slot.index)

    def _check_heartbeats(self) -> None:
        """Stop the worker processes that went silent; kill those whose grace ran out."""
        timeout = self.options.heartbeat_timeout
        now = time.monotonic()
        for slot in self.slots:
            child = slot.child
            if child is None:
                continue
            if child.kill_at is not None:
                if now >= child.kill_at:
                    child.send_signal(signal.SIGKILL)
                    child.kill_at = None
                continue
            watched = self.phase in (Phase.RUNNING, Phase.STARTING)
            if not timeout or not watched or child.replaced_because is not None:
                continue
            child.poll_status()
            if not child.ready or child.stopping or child.silent_for() * 1000 < timeout:
                continue
            self._replace_silent(child, timeout)

    def _replace_silent(self, child: WorkerChild, timeout: int) -> None:
        grace = kill_grace(timeout)
        child.replaced_because = f"no heartbeat for {child.silent_for():.1f} s"
        child.kill_at = time.monotonic() + grace
        logger.error(
            "Worker process %d sent no heartbeat for %.1f s (limit --heartbeat-timeout %d ms): "
            "its consumers got no answer from the broker or its acks kept failing. Stopping "
            "it (killed in %.1f s if still running) and starting a new one.",
            child.pid,
            child.silent_for(),
            timeout,
            grace,
            extra={"event": "worker_silent", "worker_pid": child.pid},
        )
        child.send_signal(signal.SIGTERM)

    def _reap_children(self) -> None:
        for slot in self.slots:
            child = slot.child
            if child is None or child.poll_exit() is None:
                continue
            slot.child = None
            if self.metrics is not None:
                self.metrics.child_exited(child.pid)
            self._on_child_exit(slot, child, child.returncode or 0)

    def _on_child_exit(self, slot: Slot, child: WorkerChild, returncode: int) -> None:
        how = describe_exit(returncode)
        extra = {"event": "worker_exited", "worker_pid": child.pid, "returncode": returncode}
        if self.phase in (Phase.STOPPING, Phase.KILLING, Phase.RELOADING):
            level = logging.INFO if returncode == 0 else logging.WARNING
            logger.log(level, "Worker process %d exited (%s).", child.pid, how, extra=extra)
            return
        startup_failure = not child.ready and returncode in (
            ExitCode.IMPORT_OR_USAGE,
            ExitCode.BROKER_UNREACHABLE,
        )
        if startup_failure and self.first_generation and slot.index != 0:
            # It started beside the first process, which reports the same failure and ends the
            # master; if the first one starts instead, this one is tried again after a pause.
            slot.start_after = time.monotonic() + RESTART_BACKOFF_FIRST
            return
        if startup_failure and self.first_generation:
            logger.error("Worker process %d could not start (%s).", child.pid, how, extra=extra)
            self.exit_code = ExitCode(returncode)
            self._begin_stop()
            return
        if returncode == 0 and child.ready and child.replaced_because is None:
            logger.info("Worker process %d recycled; starting a fresh one.", child.pid, extra=extra)
            self.restarts += 1
            slot.start_after = 0.0
            return
        if child.uptime() > STABLE_AFTER:
            slot.failures = 0
        slot.failures += 1
        delay = min(RESTART_BACKOFF_FIRST * 2 ** (slot.failures - 1), RESTART_BACKOFF_MAX)
        slot.start_after = time.monotonic() + delay
        self.restarts += 1
        reason = "failed to start" if startup_failure else "died unexpectedly"
        if child.replaced_because is not None:
            reason = f"was stopped ({child.replaced_because})"
        logger.error(
            "Worker process %d %s (%s); replacing it in %.1f s.",
            child.pid,
            reason,
            how,
            delay,
            extra=extra,
        )

    # -- signals --------------------------------------------------------------------------
    def _handle_signals(self) -> None:
        while (signum := self.signals.take()) is not None:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                self._begin_reload(f"received {name}")
            elif self.phase in (Phase.STOPPING, Phase.KILLING):
                self._kill_children(f"received a second {name}")
            else:
                logger.info("Received %s: stopping gracefully (send it again to kill).", name)
                self._begin_stop()

    def _begin_stop(self) -> None:
        self.phase = Phase.STOPPING
        for slot in self.slots:
            if slot.child is not None:
                slot.child.send_signal(signal.SIGTERM)
        self.forks.send_signal(signal.SIGTERM)

    def _kill_children(self, reason: str) -> None:
        logger.warning("%s: killing the worker processes.", reason.capitalize())
        self.phase = Phase.KILLING
        self.exit_code = ExitCode.KILLED
        for slot in self.slots:
            if slot.child is not None:
                slot.child.send_signal(signal.SIGKILL)
        self.forks.send_signal(signal.SIGKILL)

    def _begin_reload(self, reason: str) -> None:
        if self.phase in (Phase.STOPPING, Phase.KILLING):
            return
        logger.info("Reloading (%s): stopping the worker processes gracefully.", reason)
        self.phase = Phase.RELOADING
        for slot in self.slots:
            slot.failures = 0
            slot.start_after = 0.0
            if slot.child is not None:
                slot.child.send_signal(signal.SIGTERM)
        self.forks.send_signal(signal.SIGTERM)

    def _kill_leftovers(self) -> None:
        """On the way out (also on an unexpected error), never leave worker processes behind."""
        for slot in self.slots:
            if slot.child is not None and slot.child.alive:
                slot.child.send_signal(signal.SIGKILL)
                while slot.child.alive:
                    time.sleep(0.01)
        self.forks.kill()

    # -- file watching --------------------------------------------------------------------
    def _start_watcher(self) -> None:
        if not self.options.watch:
            return
        directories = [os.path.abspath(d) for d in self.options.watch]
        self.watcher = FileWatcher(directories, polling=self.options.watch_use_polling)
        self.watcher.start()

    def _check_watcher(self) -> None:
        if self.watcher is None:
            return
        changed = self.watcher.take_changes()
        if changed:
            shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
            self._begin_reload(f"{len(changed)} file(s) changed: {shown}")


def run_supervisor(options: WorkerOptions) -> int:
    """Run ``taskq worker`` with ``options``; returns its exit code."""
    return Supervisor(options).run()
