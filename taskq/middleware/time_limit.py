"""TimeLimit: interrupt actors that run longer than ``time_limit`` milliseconds."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any

from .threading import (
    Interrupt,
    PerThreadMiddleware,
    current_platform,
    current_thread_id,
    is_gevent_active,
    raise_thread_exception,
    supported_platforms,
)

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.time_limit")

__all__ = [
    "TimeLimit",
    "TimeLimitExceeded",
    "current_platform",
    "is_gevent_active",
    "raise_thread_exception",
    "supported_platforms",
]

#: Seconds after the last message start during which an idle watcher keeps polling.
QUIET_AFTER = 5.0


_instances: weakref.WeakSet[TimeLimit] = weakref.WeakSet()


def _forget_watchers_after_fork() -> None:
    for instance in list(_instances):
        instance._thread = None
        instance._watcher_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_watchers_after_fork)


class TimeLimitExceeded(Interrupt):
    """Raised inside an actor's thread when it exceeds its time limit."""


class TimeLimit(PerThreadMiddleware):
    """Raise :class:`TimeLimitExceeded` in actors that run past ``time_limit`` ms (default 10
    minutes). A thread stuck in C code is reported once; the exception fires when it returns."""

    actor_options = frozenset({"time_limit"})

    def __init__(self, *, time_limit: int = 600_000, interval: int = 1000) -> None:
        super().__init__()
        self.time_limit = time_limit
        self.interval = interval
        self._thread: threading.Thread | None = None
        self._watcher_lock = threading.Lock()
        self._wakeup = threading.Event()
        self._next_check = 0.0
        self._last_start = 0.0
        #: (thread id, message id) -> "raised" or "reported", for messages past their limit;
        #: touched by the watcher thread only.
        self._raised: dict[tuple[int, str], str] = {}
        _instances.add(self)

    def _ensure_watcher(self) -> None:
        # Runs before every message: no liveness check, as the watcher clears _thread when it
        # ends and a forked child starts without one (see _forget_watchers_after_fork).
        if self._thread is not None:
            return
        with self._watcher_lock:  # two threads starting messages at once start one watcher
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch_until_it_fails, name="taskq-time-limit", daemon=True
                )
                self._thread.start()

    def _watch_until_it_fails(self) -> None:
        try:
            self._watch()
        finally:  # the next message starts a new watcher
            self._thread = None

    def _watch(self) -> None:
        while True:
            # Until the next check is known, any message starting wakes the watcher. While
            # messages keep starting, an idle watcher checks every ``interval`` anyway, so they
            # start without waking it (that wake-up competes with the actor for the GIL);
            # after QUIET_AFTER without one, it sleeps until the next message starts.
            self._next_check = float("inf")
            wait = self._next_wait()
            if wait is not None:
                self._next_check = time.monotonic() + wait
            self._wakeup.wait(wait)
            self._wakeup.clear()
            self._interrupt_expired(time.monotonic())

    def _interrupt_expired(self, now: float) -> None:
        """Raise TimeLimitExceeded once in each thread whose message is past its deadline;
        report a message still running 5 s after that, once."""
        running = self.snapshot()
        raised = self._raised
        for key in set(raised) - {(tid, entry[1]) for tid, entry in running}:
            del raised[key]  # that message has finished
        for thread_id, entry in running:
            deadline, message_id = entry
            if deadline > now:
                continue
            key = (thread_id, message_id)
            state = raised.get(key)
            if state == "reported":
                continue
            if state == "raised":
                if now - deadline > 5:
                    logger.critical(
                        "Message %s ignored its time limit for %.0f s: the thread is likely "
                        "blocked in C code.",
                        message_id,
                        now - deadline,
                    )
                    raised[key] = "reported"
                continue
            logger.warning("Time limit exceeded. Raising in thread of message %s.", message_id)
            raised[key] = "raised"
            if self.running.get(thread_id) is entry:  # not finished meanwhile
                raise_thread_exception(thread_id, TimeLimitExceeded)

    def _next_wait(self) -> float | None:
        now = time.monotonic()
        running = self.snapshot()
        if not running:
            return self.interval / 1000 if now - self._last_start < QUIET_AFTER else None
        pending = [entry[0] for tid, entry in running if (tid, entry[1]) not in self._raised]
        soonest = min(pending) if pending else now + self.interval / 1000
        return min(self.interval / 1000, max(0.001, soonest - now))

    def after_process_boot(self, broker: Broker) -> None:
        if current_platform not in supported_platforms:
            warnings.warn(
                f"TimeLimit cannot kill threads on your current platform ({current_platform!r}).",
                category=RuntimeWarning,
                stacklevel=2,
            )

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self._ensure_watcher()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        # lookup_option(..., unset="falsy") and _remember, inlined: this runs for every message.
        limit = message.options.get("time_limit")
        if not limit:
            limit = broker.get_actor(message.actor_name).options.get("time_limit", self.time_limit)
            if not limit:
                return
        if self._thread is None:
            self._ensure_watcher()
        self._last_start = now = time.monotonic()
        deadline = now + limit / 1000
        self.running[current_thread_id()] = (deadline, message.message_id)
        if deadline < self._next_check:  # only wake the watcher if it would check too late
            self._wakeup.set()
