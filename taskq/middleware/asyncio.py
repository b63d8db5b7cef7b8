"""AsyncIO: run ``async def`` actors on an event loop thread started with the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asyncio import (
    EventLoopThread,
    get_event_loop_thread,
    run_coroutine,
    set_event_loop_thread,
)
from ..logging import get_logger
from .middleware import Middleware

if TYPE_CHECKING:
    from ..broker import Broker

__all__ = ["AsyncIO", "EventLoopThread", "get_event_loop_thread", "run_coroutine"]


class AsyncIO(Middleware):
    """Starts the event loop thread when the worker boots (making it the global one that
    :func:`taskq.asyncio.async_to_sync` uses) and stops it on shutdown. Async actors work
    without it too (a loop starts lazily); with it, start-up cost is paid at boot."""

    def __init__(self) -> None:
        self.logger = get_logger(__name__, type(self))

    def before_worker_boot(self, broker: Broker, worker: Any) -> None:
        thread = EventLoopThread(self.logger)
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            thread.stop()
            thread.join()
        set_event_loop_thread(None)
