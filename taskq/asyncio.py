"""Running ``async def`` code from worker threads: Dramatiq's ``dramatiq.asyncio`` names.

The :class:`~taskq.middleware.asyncio.AsyncIO` middleware starts one :class:`EventLoopThread`
per worker and makes it the global one (:func:`get_event_loop_thread`); :func:`async_to_sync`
runs coroutine functions on it. taskq's async actors also run without that middleware: they
fall back on a private loop thread started on first use (:func:`run_coroutine`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .threading import Interrupt

if TYPE_CHECKING:
    import concurrent.futures

__all__ = [
    "EventLoopThread",
    "async_to_sync",
    "get_event_loop_thread",
    "set_event_loop_thread",
]

R = TypeVar("R")
P = ParamSpec("P")

_event_loop_thread: EventLoopThread | None = None
_fallback_thread: EventLoopThread | None = None
_fallback_lock = threading.Lock()


def get_event_loop_thread() -> EventLoopThread | None:
    """The global event loop thread (set by the AsyncIO middleware), or None."""
    return _event_loop_thread


def set_event_loop_thread(thread: EventLoopThread | None) -> None:
    """Make ``thread`` the global event loop thread (None clears it)."""
    global _event_loop_thread
    _event_loop_thread = thread


def async_to_sync(async_fn: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    """Wrap a coroutine function so that calling it runs it on the global event loop thread
    and waits for its result. Raises RuntimeError when no event loop thread is set (add the
    AsyncIO middleware)."""

    @functools.wraps(async_fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        thread = get_event_loop_thread()
        if thread is None:
            raise RuntimeError(
                "Global event loop thread not set. "
                "Have you added the AsyncIO middleware to your middleware stack?"
            )
        return thread.run_coroutine(async_fn(*args, **kwargs))

    return wrapper


def run_coroutine(coro: Coroutine[Any, Any, R]) -> R:
    """Run ``coro`` to completion from synchronous code, on the global event loop thread if
    one is set, else on a private one started on first use (so async actors need no
    middleware)."""
    thread = _event_loop_thread
    if thread is None or not thread.loop.is_running():
        thread = _fallback()
    return thread.run_coroutine(coro)


def _fallback() -> EventLoopThread:
    global _fallback_thread
    with _fallback_lock:
        if _fallback_thread is None or not _fallback_thread.loop.is_running():
            thread = EventLoopThread(logging.getLogger(__name__))
            thread.start(timeout=10)
            _fallback_thread = thread
        return _fallback_thread


class EventLoopThread(threading.Thread):
    """A daemon thread running one asyncio event loop.

    ``interrupt_check_ival`` (seconds) is how often a thread waiting in :meth:`run_coroutine`
    wakes up, so that an :class:`~taskq.threading.Interrupt` (a time limit, a shutdown
    notification, an abort) raised in it is noticed.
    """

    def __init__(
        self, logger: logging.Logger | None = None, interrupt_check_ival: float = 0.1
    ) -> None:
        super().__init__(name="taskq-asyncio", daemon=True)
        self.logger = logger or logging.getLogger(__name__)
        self.interrupt_check_ival = interrupt_check_ival
        # asyncio is imported by the first loop thread, not by `import taskq`: it is a third
        # of the package's import time, and only async actors need it.
        import asyncio

        self.loop = asyncio.new_event_loop()

    def run(self) -> None:
        try:
            self.logger.info("Starting event loop...")
            self.loop.run_forever()
        finally:
            self.loop.close()

    def start(self, *, timeout: float | None = None) -> None:  # type: ignore[override]
        """Start the thread and wait up to ``timeout`` seconds (forever if None) for its loop
        to run; RuntimeError if it does not."""
        super().start()
        ready = threading.Event()
        self.loop.call_soon_threadsafe(ready.set)
        if not ready.wait(timeout=timeout):
            raise RuntimeError("Event loop failed to start.")
        self.logger.info("Event loop is running.")

    def stop(self) -> None:
        """Stop the loop and wait for the thread to exit."""
        if self.loop.is_running():
            self.logger.info("Stopping event loop...")
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.join()
            self.loop.close()

    def run_coroutine(self, coro: Awaitable[R]) -> R:
        """Run ``coro`` on the loop (with the caller's context variables) and return its
        result. If the waiting thread is interrupted, the coroutine is cancelled and its
        cleanup is given up to one second before the interrupt propagates."""
        import asyncio  # already imported by __init__ (see there)
        import concurrent.futures

        if not self.loop.is_running():
            raise RuntimeError("Event loop is not running.")
        done = threading.Event()
        started: list[bool] = []

        async def wrapped() -> R:
            try:
                return await coro
            finally:
                done.set()

        wrapper = wrapped()
        future: concurrent.futures.Future[R] = concurrent.futures.Future()

        def start(target: concurrent.futures.Future[R]) -> None:
            # On the loop, with this thread's context variables (copied by the call).
            started.append(True)
            if target.cancelled():
                wrapper.close()
                done.set()
                return
            task = self.loop.create_task(wrapper)
            asyncio.futures._chain_future(task, target)  # type: ignore[attr-defined]

        def forget_if_never_started() -> None:
            if not started:
                wrapper.close()
                done.set()

        try:
            self.loop.call_soon_threadsafe(start, future)
            while True:
                try:
                    return future.result(timeout=self.interrupt_check_ival)
                except concurrent.futures.TimeoutError:
                    if not future.done():
                        continue
                # A TimeoutError raised by the coroutine itself (or the future finished just
                # now): result() re-raises it or returns the value.
                return future.result(timeout=0)
        except Interrupt as e:
            # Callbacks run in order: start() (if it was scheduled) before these two.
            self.loop.call_soon_threadsafe(future.cancel)
            self.loop.call_soon_threadsafe(forget_if_never_started)
            if not done.wait(timeout=1.0):
                raise RuntimeError("Timed out while waiting for coroutine.") from e
            raise
        finally:
            # The future holds the coroutine's exception: drop it so that exception, its
            # traceback and this frame do not form a reference cycle.
            del future
