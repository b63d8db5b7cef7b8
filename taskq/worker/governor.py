"""How many of a worker's threads run actors at once: all of them, unless a backlog of short
messages measurably goes faster on a few.

The threads of one process share one interpreter lock. When a backlog of short messages keeps
every thread busy and each actor makes a quick blocking call (one Redis command, say), every
call hands the lock to another waiting thread: with eight threads those hand-offs cost more
than the overlap gains, and three threads finish the same backlog sooner.

The governor measures instead of guessing. While completions come quickly it takes a look:
:data:`SLICES` slices of :data:`SLICE` seconds, alternately with every thread and with
:data:`FEW`, and counts the messages finished in each. Slices and looks follow the machine's
monotonic clock, so the worker processes of a ``taskq worker`` group switch at the same
instant, and they count the whole group's completions (a :class:`GroupCompletions`): one
process alone cannot tell, because when it changes, the CPU the processes share shifts between
them. The few's gain (the ratio of the two rates, as a logarithm) is averaged with the earlier
looks', so one noisy look does not flip the decision; the few run until the next look when it
exceeds :data:`MARGIN` and this look found them at least :data:`NOT_SLOWER` times as fast;
otherwise every thread runs. A look that confirms the verdict before makes the next one wait
twice as long.

Every thread runs whenever the evidence is missing: before the first look, and whenever
completions are too slow to be worth a look (fewer than :data:`MIN_RATE` a second). And
whatever was decided, no completion for :data:`STALL` seconds while work waits (the running
actors block for long) lets every thread in at once. Threads held back take no message; they
wait for the governor, never holding one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger("taskq.worker")

#: How many threads run actors when the few are faster.
FEW = 3
#: Seconds between two looks; each look that confirms the verdict before doubles it, up to
#: :data:`LONGEST_RUN` (half that while the few run).
RUN = 2.0
LONGEST_RUN = 16.0
#: Seconds before the first look (and the next, when completions were too slow for one).
WARM_UP = 0.3
#: Seconds of each slice of a look, and how many slices (every other one with the few).
SLICE = 0.1
SLICES = 8
#: Seconds at the start of each slice that are not counted (the switch settles).
SETTLE = 0.02
#: Completions per second a worker process needs before a look is worth taking.
MIN_RATE = 500
#: The few are kept while their gain, averaged over the looks, exceeds this ratio and the
#: latest look found them at least :data:`NOT_SLOWER` times as fast.
MARGIN = 1.05
NOT_SLOWER = 0.8
#: A look ends early once the few finish fewer than this share of what every thread does.
GIVE_UP_BELOW = 0.6
#: Seconds without a completion, while work waits, after which every thread is let in.
STALL = 0.05


class GroupCompletions(Protocol):
    """How many messages the worker processes of one group have finished, in memory they
    share (``taskq worker`` makes one: :class:`taskq.supervisor.group.SharedCompletions`)."""

    def counter(self, slot: int) -> Callable[[int], None]:
        """A function publishing the running total of the process in ``slot``."""
        ...

    def total(self) -> int:
        """Completions of every process of the group so far."""
        ...


class _Tally:
    """Completions and seconds of one arm of a look."""

    __slots__ = ("done", "seconds")

    def __init__(self) -> None:
        self.done = 0
        self.seconds = 0.0

    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


class ThreadGovernor:
    """Decides how many of ``threads`` worker threads (ranked 0, 1, ...) may take messages.

    ``completed()`` tells how many messages the worker has finished so far; ``waiting()``
    whether the work queue holds any; ``group`` and ``slot``, when the worker is one process
    of a group, where its completions are shared. Worker threads call :meth:`tick` after
    each message and :meth:`hold` when their rank is not below :attr:`limit`. ``clock`` is a
    parameter for tests.
    """

    def __init__(
        self,
        threads: int,
        completed: Callable[[], int],
        waiting: Callable[[], bool],
        *,
        enabled: bool = True,
        group: GroupCompletions | None = None,
        slot: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threads = threads
        self.few = min(FEW, threads)
        self.enabled = enabled and self.few < threads
        #: Threads whose rank is below this may take messages.
        self.limit = threads
        #: How many threads are held back right now.
        self.held = 0
        self._completed = completed
        self._waiting = waiting
        self._publish = group.counter(slot) if group is not None else None
        self._measured = group.total if group is not None else completed
        self._clock = clock
        self._cond = threading.Condition()
        self._run_seconds = RUN
        #: The limit the latest look settled on.
        self._verdict = threads
        #: The few's gain over every thread, as a log ratio averaged over the looks so far.
        self._score: float | None = None
        #: Slices of the current look still to come (0 while not looking).
        self._slices_left = 0
        self._tallies = {threads: _Tally(), self.few: _Tally()}
        self._since = clock()
        self._since_own = 0
        self._since_measured = self._measured()
        self._next = self._checkpoint = self._since + WARM_UP

    def tick(self) -> None:
        """Called after each message: moves on when the current run or slice is over."""
        if not self.enabled:
            return
        if self._publish is not None:
            self._publish(self._completed())
        if self._clock() >= self._checkpoint:
            with self._cond:
                now = self._clock()
                if now >= self._checkpoint:
                    self._at_checkpoint(now)

    def hold(self, rank: int, should_wait: Callable[[], bool]) -> None:
        """Wait while ``rank`` may not take messages and ``should_wait()`` (checked under the
        lock :meth:`wake` takes, so a stop or pause signalled before the wait is not missed).

        The first thread held back also keeps time: it ends a slice or run that no
        completion ends, and lets every thread in on a stall.
        """
        with self._cond:
            if rank < self.limit or not should_wait():
                return
            self.held += 1
            try:
                if rank == self.limit:
                    self._keep_time()
                else:
                    self._cond.wait()
            finally:
                self.held -= 1

    def run_few(self, seconds: float = RUN) -> None:
        """Let only the few take messages for ``seconds``, as after a look that found them
        faster (the stall guard still applies)."""
        with self._cond:
            self._verdict = self.few
            self._run(self.few, seconds, self._clock())

    def wake(self) -> None:
        """Release every held thread once (to notice a pause or a stop)."""
        with self._cond:
            self._cond.notify_all()

    def _keep_time(self) -> None:
        rank = self.limit
        seen = self._completed()
        start = self._clock()
        if self._cond.wait(min(STALL, max(0.0, self._checkpoint - start))) or rank < self.limit:
            return
        now = self._clock()
        if now - start >= STALL and self._completed() == seen and self._waiting():
            logger.debug("Worker threads: no message finished for a while; all run.")
            self._score, self._verdict, self._run_seconds = None, self.threads, RUN
            self._run(self.threads, RUN, now)
        elif now >= self._checkpoint:
            self._at_checkpoint(now)

    def _at_checkpoint(self, now: float) -> None:
        if now < self._next:  # a slice has settled: count from here
            self._since, self._since_measured = now, self._measured()
            self._checkpoint = self._next
        else:
            self._advance(now)

    def _advance(self, now: float) -> None:
        if not self._slices_left:  # a run ended: look if completions came quickly enough
            if self._completed() - self._since_own >= MIN_RATE * (now - self._since):
                self._tallies = {self.threads: _Tally(), self.few: _Tally()}
                self._slices_left = SLICES
                self._next_slice(now)
            else:
                self._run(self.threads, WARM_UP, now)
            return
        tally = self._tallies[self.limit]
        tally.done += self._measured() - self._since_measured
        tally.seconds += now - self._since
        self._slices_left -= 1
        every, few = self._tallies[self.threads], self._tallies[self.few]
        if every.done and few.seconds and few.rate() < every.rate() * GIVE_UP_BELOW:
            self._decide(now)  # the few are plainly slower: no need to look any longer
        elif self._slices_left:
            self._next_slice(now)
        else:
            self._decide(now)

    def _decide(self, now: float) -> None:
        every, few = self._tallies[self.threads], self._tallies[self.few]
        if not every.done or not few.done:
            self._run(self.threads, RUN, now)
            return
        gain = math.log(few.rate() / every.rate())
        self._score = gain if self._score is None else (self._score + gain) / 2
        keep = few.rate() >= every.rate() * NOT_SLOWER and self._score > math.log(MARGIN)
        logger.debug(
            "Worker threads: with %d the group finished %.0f messages/s, with all %d %.0f/s; "
            "%s run.",
            self.few,
            few.rate(),
            self.threads,
            every.rate(),
            self.few if keep else "all",
        )
        limit = self.few if keep else self.threads
        # The same verdict again: look less often (the few's runs stay shorter, so a change
        # of workload that makes them slower is soon noticed).
        longest = LONGEST_RUN / 2 if keep else LONGEST_RUN
        same = limit == self._verdict
        self._run_seconds = min(self._run_seconds * 2, longest) if same else RUN
        self._verdict = limit
        self._run(limit, self._run_seconds, now)

    def _next_slice(self, now: float) -> None:
        index = int(now / SLICE)
        until = (index + 1) * SLICE
        self._set(self.few if index % 2 else self.threads, now, until)
        # Threads finishing their message or waking up after a switch would blur the count.
        self._checkpoint = min(now + SETTLE, until)

    def _run(self, limit: int, seconds: float, now: float) -> None:
        self._slices_left = 0
        grid = 2 * SLICE  # runs end on the machine's clock too, so the next looks coincide
        self._set(limit, now, math.ceil((now + seconds) / grid) * grid)

    def _set(self, limit: int, now: float, until: float) -> None:
        self._since = now
        self._since_own = self._completed()
        self._since_measured = self._measured()
        self._next = self._checkpoint = until
        if limit != self.limit:
            self.limit = limit
            self._cond.notify_all()
