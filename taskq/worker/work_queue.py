"""The queue between a worker's consumer threads and its worker threads."""

from __future__ import annotations

import contextlib
import heapq
import queue
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..delivery import MessageProxy
    from . import ConsumerThread


class WorkItem(NamedTuple):
    """A fetched message waiting for a worker thread, with the consumer thread that fetched it
    (which acks it, requeues it, and learns from how long it ran)."""

    message: MessageProxy
    consumer: ConsumerThread


#: What the work queue holds: ``(priority, sequence, item)``; the unique sequence keeps equal
#: priorities in fetch order, so items themselves are never compared.
WorkEntry = tuple[int, int, WorkItem]


class WorkQueue:
    """Fetched messages waiting for a worker thread, lowest ``(priority, sequence)`` first.

    A C-level ``SimpleQueue`` of tokens (one per item) wakes exactly one waiting thread per
    message without Python-level condition variables; the items themselves sit in a heap.
    :meth:`wake` releases blocked :meth:`get` calls (they return None) so idle threads can
    block without a timeout and still notice a stop. ``task_done``/``join``/``qsize`` work as
    on :class:`queue.Queue`.
    """

    def __init__(self) -> None:
        self._heap: list[Any] = []
        self._lock = threading.Lock()
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._all_done = threading.Condition(self._lock)
        self._joiners = 0
        #: Items put and not yet marked done with :meth:`task_done`.
        self.unfinished_tasks = 0

    def put(self, item: Any) -> bool:
        """Add ``item`` and wake one waiting thread; True when no other item was waiting."""
        with self._lock:
            heapq.heappush(self._heap, item)
            self.unfinished_tasks += 1
            alone = len(self._heap) == 1
        self._tokens.put(None)
        return alone

    def get(self, timeout: float | None = None) -> Any:
        """The smallest item, blocking up to ``timeout`` seconds (forever if None).

        Raises :class:`queue.Empty` on timeout; returns None when woken by :meth:`wake`.
        """
        self._tokens.get(timeout=timeout)
        with self._lock:
            return heapq.heappop(self._heap) if self._heap else None

    def get_nowait(self) -> Any:
        """The smallest item; raises :class:`queue.Empty` when there is none."""
        with self._lock:
            if not self._heap:
                raise queue.Empty
            item = heapq.heappop(self._heap)
        # Keep one token per item; a token missing now was taken by a get() that will find
        # the heap empty and return None, which callers treat as a wake-up.
        with contextlib.suppress(queue.Empty):
            self._tokens.get_nowait()
        return item

    def wake(self, count: int) -> None:
        """Release up to ``count`` threads blocked in :meth:`get` (they get None)."""
        for _ in range(count):
            self._tokens.put(None)

    def task_done(self) -> None:
        """Mark one item taken by :meth:`get` as processed."""
        with self._lock:
            self.unfinished_tasks -= 1
            if self.unfinished_tasks <= 0 and self._joiners:
                self._all_done.notify_all()

    def join(self) -> None:
        """Block until every item put has been marked done."""
        with self._lock:
            self._joiners += 1
            try:
                while self.unfinished_tasks > 0:
                    self._all_done.wait()
            finally:
                self._joiners -= 1

    def is_empty(self) -> bool:
        """Whether no item waits (without taking the lock: a snapshot, as ``qsize`` is)."""
        return not self._heap

    def qsize(self) -> int:
        """How many items wait for a worker thread."""
        with self._lock:
            return len(self._heap)
