"""Where the Prometheus middleware sends its metric updates: straight through, or buffered.

In multiprocess mode every prometheus_client update takes a process-wide lock, checks the pid
and writes to a memory-mapped file: five of them per message cost a busy worker more than
decoding the message. :class:`BufferedMetrics` sums updates in memory instead, per thread and
without a lock, and writes their growth from a background thread at most ``interval`` seconds
later (an in-progress gauge that went up and down in between costs no write at all). The
thread sleeps while nothing changes, so an idle worker never wakes for it.
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

    def start(self, running: Any) -> None:
        """Count a message as running in the in-progress gauge child ``running``."""
        running.inc()

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
    """Sum updates in memory and write them every ``interval`` seconds from one thread.

    Each updating thread keeps its own running totals, which only it writes: an update takes
    no lock. The background thread reads every thread's totals and writes what grew since it
    last looked (a total read in the middle of an update is caught up with at the next flush).
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._lock = threading.Lock()  # guards the list of tallies and the flushes
        self._tallies: list[_Tally] = []
        self._local = threading.local()
        self._changed = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def _tally(self) -> _Tally:
        """The calling thread's running totals."""
        try:
            return self._local.tally  # type: ignore[no-any-return]
        except AttributeError:
            tally = self._local.tally = _Tally(threading.current_thread())
            with self._lock:
                self._tallies.append(tally)
            return tally

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """Add ``amount`` to a counter or gauge child at the next flush."""
        increments = self._tally().increments
        increments[child] = increments.get(child, 0.0) + amount
        if not self._changed.is_set():
            self._mark_changed()

    def observe(self, child: Any, value: float) -> None:
        """Record ``value`` in a histogram child at the next flush (at once when this
        prometheus_client release does not expose a child's buckets)."""
        if not self._tally().observe(child, value):
            child.observe(value)
            return
        if not self._changed.is_set():
            self._mark_changed()

    def start(self, running: Any) -> None:
        """Count the calling thread's message as running in the in-progress gauge child
        ``running`` until :meth:`finish` (a thread runs one message at a time)."""
        self._tally().running = running
        if not self._changed.is_set():
            self._mark_changed()

    def finish(
        self, children: Any, duration: float, *, running: Any = None, errored: bool = False
    ) -> None:
        """Count a finished message at the next flush (as :meth:`DirectMetrics.finish`)."""
        tally = self._tally()
        increments = tally.increments
        if running is not None:
            if tally.running is running:
                tally.running = None
            else:  # counted by inc(), not start()
                increments[running] = increments.get(running, 0.0) - 1
        increments[children.total] = increments.get(children.total, 0.0) + 1
        if errored:
            increments[children.errored] = increments.get(children.errored, 0.0) + 1
        if not tally.observe(children.durations, duration):
            children.durations.observe(duration)
        if not self._changed.is_set():
            self._mark_changed()

    def flush(self) -> None:
        """Write everything that grew since the last flush."""
        with self._lock:
            for tally in self._tallies:
                if not tally.thread.is_alive():
                    tally.running = None
                tally.write_growth()
            self._tallies = [t for t in self._tallies if t.thread.is_alive()]

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


class _Tally:
    """One thread's running totals (written by that thread only) and what of them the
    flushing thread has written so far."""

    __slots__ = (
        "thread",
        "running",
        "increments",
        "observations",
        "_written",
        "_written_running",
        "_written_observations",
    )

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        #: The in-progress gauge child of the message this thread runs, if any.
        self.running: Any = None
        self._written_running: Any = None
        self.increments: dict[Any, float] = {}
        self.observations: dict[Any, _Observations] = {}
        self._written: dict[Any, float] = {}
        self._written_observations: dict[Any, tuple[dict[int, int], float]] = {}

    def observe(self, child: Any, value: float) -> bool:
        """Add ``value`` to ``child``'s running observations; False when this
        prometheus_client release does not expose the child's buckets."""
        observations = self.observations.get(child)
        if observations is None:
            if not _has_buckets(child):
                return False
            observations = self.observations[child] = _Observations(child)
        observations.add(value)
        return True

    def write_growth(self) -> None:
        """Write to the metrics what the totals gained since the last call (flusher only)."""
        running = self.running
        if running is not self._written_running:
            if self._written_running is not None:
                self._written_running.inc(-1)
            if running is not None:
                running.inc()
            self._written_running = running
        written = self._written
        for child, total in list(self.increments.items()):  # one step: no update interleaves
            growth = total - written.get(child, 0.0)
            if growth:
                child.inc(growth)
                written[child] = total
        for child, observations in list(self.observations.items()):
            counts, value_sum = dict(observations.counts), observations.total
            before_counts, before_sum = self._written_observations.get(child, ({}, 0.0))
            grown = {i: n - before_counts.get(i, 0) for i, n in counts.items()}
            for index, count in grown.items():
                if count:
                    child._buckets[index].inc(count)
            if value_sum != before_sum:
                child._sum.inc(value_sum - before_sum)
            self._written_observations[child] = (counts, value_sum)


def _has_buckets(child: Any) -> bool:
    return all(hasattr(child, name) for name in ("_upper_bounds", "_buckets", "_sum"))


class _Observations:
    """One thread's histogram observations so far: a count per bucket and their sum.

    A value lands in the first bucket whose upper bound is at least the value, as in
    ``Histogram.observe``; the flusher writes their growth through the child's bucket and sum
    values.
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
