"""The queue between a worker's consumer threads and its worker threads."""

from __future__ import annotations

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

    The items sit in a heap; a thread that finds it empty sleeps on a C-level ``SimpleQueue``
    of wake-up tokens, and :meth:`put` gives a token to a sleeper only when no token is on its
    way to one already. A consumer that has more messages in hand can put them with
    ``wake=False`` and wake the sleepers once, after the last (:meth:`wake_sleepers`): on a
    process kept on one core, each wake-up switches to the woken thread, which cannot run
    before the consumer lets go of the interpreter lock, and switches back. Threads that are
    running take the next item from the heap without sleeping. :meth:`wake` releases blocked
    :meth:`get` calls (they return None) so idle threads can block without a timeout and still
    notice a stop. ``task_done``/``join``/``qsize`` work as on :class:`queue.Queue`.
    """

    def __init__(self) -> None:
        self._heap: list[Any] = []
        self._lock = threading.Lock()
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._all_done = threading.Condition(self._lock)
        self._joiners = 0
        #: Threads blocked in get(), and tokens put for them that none has taken yet.
        self._sleepers = 0
        self._tokens_out = 0
        #: Items put and not yet marked done with :meth:`task_done`.
        self.unfinished_tasks = 0

    def put(self, item: Any, *, wake: bool = True) -> bool:
        """Add ``item`` and, unless ``wake`` is False, wake a sleeping thread for every item no
        running thread will take; True when no other item was waiting."""
        with self._lock:
            heapq.heappush(self._heap, item)
            self.unfinished_tasks += 1
            alone = len(self._heap) == 1
            tokens = self._tokens_due() if wake else 0
        for _ in range(tokens):
            self._tokens.put(None)
        return alone

    def wake_sleepers(self) -> int:
        """Wake sleeping threads for the items put with ``wake=False``; how many were woken."""
        with self._lock:
            tokens = self._tokens_due()
        for _ in range(tokens):
            self._tokens.put(None)
        return tokens

    def _tokens_due(self) -> int:
        """(Under the lock.) How many more sleepers to wake for the items waiting now."""
        due = min(self._sleepers, len(self._heap)) - self._tokens_out
        if due <= 0:
            return 0
        self._tokens_out += due
        return due

    def get(self, timeout: float | None = None) -> Any:
        """The smallest item, blocking up to ``timeout`` seconds (forever if None).

        Raises :class:`queue.Empty` on timeout; returns None when woken by :meth:`wake`.
        """
        with self._lock:
            if self._heap:
                return heapq.heappop(self._heap)
            self._sleepers += 1
        try:
            self._tokens.get(timeout=timeout)
        finally:
            with self._lock:
                self._sleepers -= 1
        with self._lock:
            self._tokens_out = max(0, self._tokens_out - 1)
            return heapq.heappop(self._heap) if self._heap else None

    def get_nowait(self) -> Any:
        """The smallest item; raises :class:`queue.Empty` when there is none."""
        with self._lock:
            if not self._heap:
                raise queue.Empty
            return heapq.heappop(self._heap)

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
