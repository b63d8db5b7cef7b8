"""Threading helpers for middleware: Dramatiq's ``dramatiq.middleware.threading`` names (which
live in :mod:`taskq.threading`) and :class:`PerThreadMiddleware`."""

from __future__ import annotations

import threading
from typing import Any

from ..threading import (
    Interrupt,
    current_platform,
    current_thread_id,
    interruptible,
    is_gevent_active,
    raise_thread_exception,
    supported_platforms,
    worker_thread_guard,
)
from .middleware import Middleware

__all__ = [
    "Interrupt",
    "PerThreadMiddleware",
    "current_platform",
    "current_thread_id",
    "interruptible",
    "is_gevent_active",
    "raise_thread_exception",
    "supported_platforms",
    "worker_thread_guard",
]


class PerThreadMiddleware(Middleware):
    """Base for middleware that track something about the message each thread is running:
    ``_remember(value)`` in ``before_process_message``; forgotten when the message finishes
    or is skipped. ``running`` maps thread (or greenlet) ids to those values.

    Only a thread itself adds or removes its own entry, each in one dict operation, so no
    lock is taken per message; other threads read ``running`` through :meth:`snapshot`.
    """

    def __init__(self) -> None:
        self.running: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _remember(self, value: Any) -> None:
        self.running[current_thread_id()] = value

    def _forget(self) -> None:
        self.running.pop(current_thread_id(), None)

    def snapshot(self) -> list[tuple[int, Any]]:
        """The ``(thread id, value)`` pairs of ``running`` at one instant (copied in one step,
        which no other thread's update can interleave with)."""
        return list(self.running.items())

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self.running.pop(current_thread_id(), None)  # _forget, inlined: runs for every message

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._forget()
