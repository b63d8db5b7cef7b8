"""Noticing a wedged worker process without asking the broker.

Each worker process writes one byte a second to a pipe its master reads (the pipe that first
carries its ready report), but only while it makes progress:

- every consumer thread got an answer from the broker lately (a message, or an empty poll
  when idle), is paused, or the worker is stopping; and
- acks are not failing: once an ack (or dead-lettering) of a message fails, one must succeed
  again before the beats resume.

An idle worker polls its queues every ``worker_timeout`` (a second), and a worker whose threads
all run long messages still polls, so neither ever stops beating. A worker whose broker calls
all raise (a damaged database file, a connection that never comes back) stops beating, and the
master replaces it once no beat arrived for ``--heartbeat-timeout`` ms, logging why.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from ..middleware.middleware import Middleware

if TYPE_CHECKING:
    from ..broker import Broker
    from ..worker import Worker

#: Bytes on the status pipe, child to master.
READY = b"R"
BEAT = b"."
STOPPING = b"S"

#: The longest a replaced process may take to stop gracefully before it is killed (seconds).
MAX_KILL_GRACE = 10.0


def kill_grace(heartbeat_timeout: int) -> float:
    """Seconds between SIGTERM and SIGKILL for a process replaced for missing heartbeats."""
    return min(MAX_KILL_GRACE, heartbeat_timeout / 2000)


class AckWatch(Middleware):
    """Counts acks and nacks tried and completed, to tell when every one of them fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tried = 0
        self.completed = 0

    def before_ack(self, broker: Broker, message: Any) -> None:
        self._tried()

    def before_nack(self, broker: Broker, message: Any) -> None:
        self._tried()

    def after_ack(self, broker: Broker, message: Any) -> None:
        self._completed()

    def after_nack(self, broker: Broker, message: Any) -> None:
        self._completed()

    def _tried(self) -> None:
        with self._lock:
            self.tried += 1

    def _completed(self) -> None:
        with self._lock:
            self.completed += 1

    def counts(self) -> tuple[int, int]:
        """(tried, completed) so far."""
        with self._lock:
            return self.tried, self.completed


class HealthCheck:
    """Decides, once per beat, whether a worker process made progress (see the module doc)."""

    def __init__(self, acks: AckWatch) -> None:
        self.acks = acks
        self._last_counts = (0, 0)
        #: Acks tried since the last one that succeeded, while they fail (0: not failing).
        self._failing = 0
        #: Why the last check failed, for the process's own log (None: healthy).
        self.problem: str | None = None

    def check(self, worker: Worker) -> bool:
        """True when ``worker`` made progress; else :attr:`problem` says what is stuck."""
        self.problem = self._stalled_consumer(worker) or self._failing_acks()
        return self.problem is None

    @staticmethod
    def _stalled_consumer(worker: Worker) -> str | None:
        # A consumer's poll waits at most worker_timeout; give it two, plus scheduling slack.
        limit = 2 * worker.worker_timeout / 1000 + 2.0
        now = time.monotonic()
        for name, thread in list(worker.consumers.items()):
            if thread.paused.is_set():
                continue
            if not thread.is_alive():
                return f"the consumer of {name} has died"
            last = getattr(thread, "last_fetch", None)
            if last is not None and now - last > limit:
                return (
                    f"the consumer of {name} got no answer from the broker for {now - last:.0f} s"
                )
        return None

    def _failing_acks(self) -> str | None:
        # Between two checks (a second apart), acks were tried and none succeeded: they fail
        # (or hang), until a later one succeeds. An ack still running at a check only delays
        # one beat.
        tried, completed = self.acks.counts()
        last_tried, last_completed = self._last_counts
        self._last_counts = (tried, completed)
        if completed > last_completed:
            self._failing = 0
        elif tried > last_tried:
            self._failing += tried - last_tried
        if self._failing:
            return f"acks fail: none of the last {self._failing} succeeded"
        return None


class StatusPipe:
    """The worker process's end of the status pipe (never blocks, never raises)."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        if fd is not None:
            with contextlib.suppress(OSError):
                os.set_blocking(fd, False)

    def send(self, status: bytes) -> None:
        """Write ``status``; a full pipe or a gone master is ignored (the main loop notices)."""
        if self.fd is None:
            return
        try:
            os.write(self.fd, status)
        except BlockingIOError:
            pass
        except OSError:
            self.close()

    def close(self) -> None:
        """Close the pipe (the master reads end of file)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
