"""AsyncIO: run ``async def`` actors on a per-process event loop thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .middleware import Middleware

if TYPE_CHECKING:
    from ..broker import Broker

T = TypeVar("T")


class EventLoopThread(threading.Thread):
    """A daemon thread running one asyncio event loop."""

    def __init__(self) -> None:
        super().__init__(name="taskq-asyncio", daemon=True)
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()

    def start(self) -> None:
        super().start()
        self._started.wait()

    def stop(self) -> None:
        """Stop the loop and wait for the thread to exit."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(5)

    def run_coroutine(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop with the caller's context vars; cancel it if interrupted."""
        context = contextvars.copy_context()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def schedule() -> None:
            task = self.loop.create_task(coro, context=context)
            asyncio.futures._chain_future(task, future)  # type: ignore[attr-defined]

        self.loop.call_soon_threadsafe(schedule)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise


_loop_thread: EventLoopThread | None = None
_lock = threading.Lock()


def get_event_loop_thread() -> EventLoopThread:
    """The process's event loop thread, started on first use."""
    global _loop_thread
    with _lock:
        if _loop_thread is None or not _loop_thread.is_alive():
            _loop_thread = EventLoopThread()
            _loop_thread.start()
        return _loop_thread


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code (the worker thread blocks meanwhile)."""
    return get_event_loop_thread().run_coroutine(coro)


class AsyncIO(Middleware):
    """Starts the event loop thread with the worker and stops it on shutdown. Async actors
    work without it too (the loop starts lazily); with it, start-up cost is paid at boot."""

    def before_worker_boot(self, broker: Broker, worker: Any) -> None:
        get_event_loop_thread()

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        global _loop_thread
        with _lock:
            if _loop_thread is not None:
                _loop_thread.stop()
                _loop_thread = None
