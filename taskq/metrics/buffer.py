"""Where the Prometheus middleware sends its metric updates: straight through, or buffered.

In multiprocess mode every prometheus_client update takes a process-wide lock, checks the pid
and writes to a memory-mapped file: five of them per message cost a busy worker more than
decoding the message. :class:`BufferedMetrics` sums updates in memory instead and writes the
totals from a background thread at most ``interval`` seconds later (an in-progress gauge that
went up and down in between costs no write at all). The thread sleeps while nothing changes,
so an idle worker never wakes for it.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any


class DirectMetrics:
    """Apply every update at once (a single process, whose registry is read in place)."""

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """Add ``amount`` (negative for a gauge going down) to a counter or gauge child."""
        child.inc(amount)

    def observe(self, child: Any, value: float) -> None:
        """Record ``value`` in a histogram child."""
        child.observe(value)

    def finish(
        self, children: Any, duration: float, *, running: Any = None, errored: bool = False
    ) -> None:
        """Count a finished message: ``children`` are its (queue, actor) metric children,
        ``running`` the in-progress gauge child to lower, if it was counted as running."""
        if running is not None:
            running.inc(-1)
        children.durations.observe(duration)
        children.total.inc()
        if errored:
            children.errored.inc()

    def flush(self) -> None:
        """Nothing is held back."""

    def stop(self) -> None:
        """Nothing runs in the background."""


class BufferedMetrics:
    """Sum updates in memory and write them every ``interval`` seconds from one thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._increments: dict[Any, float] = {}
        self._observations: dict[Any, _Observations] = {}
        self._changed = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """Add ``amount`` to a counter or gauge child at the next flush."""
        with self._lock:
            increments = self._increments
            increments[child] = increments.get(child, 0.0) + amount
        self._mark_changed()

    def observe(self, child: Any, value: float) -> None:
        """Record ``value`` in a histogram child at the next flush (at once when this
        prometheus_client release does not expose a child's buckets)."""
        with self._lock:
            buffered = self._observe_locked(child, value)
        if not buffered:
            child.observe(value)
            return
        self._mark_changed()

    def _observe_locked(self, child: Any, value: float) -> bool:
        """Add ``value`` to what ``child`` will be written at the next flush (the lock held);
        False when this prometheus_client release does not expose the child's buckets."""
        observations = self._observations.get(child)
        if observations is None:
            if not _has_buckets(child):
                return False
            observations = self._observations[child] = _Observations(child)
        observations.add(value)
        return True

    def finish(
        self, children: Any, duration: float, *, running: Any = None, errored: bool = False
    ) -> None:
        """Count a finished message at the next flush (as :meth:`DirectMetrics.finish`), with
        one lock for its three or four updates."""
        durations = children.durations
        with self._lock:
            increments = self._increments
            if running is not None:
                increments[running] = increments.get(running, 0.0) - 1
            increments[children.total] = increments.get(children.total, 0.0) + 1
            if errored:
                increments[children.errored] = increments.get(children.errored, 0.0) + 1
            buffered = self._observe_locked(durations, duration)
        if not buffered:
            durations.observe(duration)
        self._mark_changed()

    def flush(self) -> None:
        """Write everything summed so far."""
        with self._lock:
            increments, self._increments = self._increments, {}
            observations, self._observations = self._observations, {}
        for child, amount in increments.items():
            if amount:
                child.inc(amount)
        for pending in observations.values():
            pending.write()

    def stop(self) -> None:
        """Flush and end the background thread (the next update starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopped.set()
            self._changed.set()
            thread.join(timeout=5)
            self._stopped = threading.Event()
            self._changed = threading.Event()
        self.flush()

    def _mark_changed(self) -> None:
        if self._changed.is_set():
            return
        if self._thread is None:
            self._start()
        self._changed.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="taskq-metrics-flusher", daemon=True
            )
        self._thread.start()

    def _run(self) -> None:
        stopped, changed = self._stopped, self._changed
        while not stopped.is_set():
            changed.wait()
            # Let updates gather for one interval (or until stop), then write them in one go.
            stopped.wait(self.interval)
            changed.clear()
            self.flush()


def _has_buckets(child: Any) -> bool:
    return all(hasattr(child, name) for name in ("_upper_bounds", "_buckets", "_sum"))


class _Observations:
    """Histogram observations not yet written: a count per bucket and their sum.

    Written through the child's bucket and sum values, as ``Histogram.observe`` does: a value
    lands in the first bucket whose upper bound is at least the value.
    """

    __slots__ = ("child", "counts", "total")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.counts: dict[int, int] = {}
        self.total = 0.0

    def add(self, value: float) -> None:
        index = bisect.bisect_left(self.child._upper_bounds, value)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.total += value

    def write(self) -> None:
        for index, count in self.counts.items():
            self.child._buckets[index].inc(count)
        self.child._sum.inc(self.total)
