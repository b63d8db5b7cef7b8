"""How many unacknowledged messages a worker's consumer may hold: sized from how long they take.

A consumer that holds few messages is fair to the other workers of its queue: what it holds
and cannot start yet, nobody else can start either. With jobs of seconds, Dramatiq's
``2 × threads`` is right. With jobs of microseconds it starves the worker: threads sit idle
while acks travel to the broker and replacements travel back. So the window starts at
``2 × threads`` and follows the mean processing time: it holds about :data:`BUDGET_MS` of
work per thread, never fewer than ``2 × threads`` messages nor more than ``128 × threads``
(while it drains a backlog, a RabbitMQ queue pauses its deliveries now and then for tens of
milliseconds: what the worker holds must outlast that).
It widens when the work it should hold has doubled, and narrows only when that has stayed under
a quarter (or at the minimum) for :data:`SHRINK_AFTER` seconds: a mean that wobbles (a short
job's wall time jumps while its process waits for a core or the GIL) never makes it resize back
and forth.
A ``prefetch`` chosen by the user (``Worker(prefetch=N)``, ``taskq worker --prefetch N``)
is never changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

#: Milliseconds of work each worker thread may have waiting for it in the window.
BUDGET_MS = 100.0
#: The window is at least this many messages per worker thread...
MIN_PER_THREAD = 2
#: ...and at most this many.
MAX_PER_THREAD = 128
#: The window narrows once the work it should hold is under 1/SHRINK_BELOW of its size.
SHRINK_BELOW = 4
#: Seconds the window must have been too wide, look after look, before it narrows.
SHRINK_AFTER = 1.0
#: Seconds between two looks at the mean processing time.
CHECK_EVERY = 0.05
#: Weight of each new duration in the running mean.
SMOOTHING = 0.1


class PrefetchWindow:
    """The prefetch of one consumer, resized from the durations its messages take."""

    def __init__(
        self,
        threads: int,
        fixed: int | None = None,
        *,
        check_every: float = CHECK_EVERY,
        shrink_after: float = SHRINK_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.minimum = max(2, threads * MIN_PER_THREAD)
        self.maximum = max(self.minimum, threads * MAX_PER_THREAD)
        self.threads = threads
        self.size = fixed or self.minimum
        self.adaptive = fixed is None
        #: Running mean of processing time, in ms (None until a message is done).
        self.mean_ms: float | None = None
        self._check_every = check_every
        self._shrink_after = shrink_after
        self._clock = clock
        self._next_check = clock() + check_every
        #: Since when every look found the window too wide (None: the last one did not).
        self._too_wide_since: float | None = None

    def record(self, duration_ms: float) -> None:
        """Note that a message of this consumer took ``duration_ms`` to process."""
        mean = self.mean_ms
        self.mean_ms = duration_ms if mean is None else mean + SMOOTHING * (duration_ms - mean)

    def resize(self) -> int | None:
        """The new window when it should grow to double or shrink to a quarter (or reach a
        bound), else None.

        Cheap enough to call after every message: it looks at the mean only every
        ``check_every`` seconds.
        """
        if not self.adaptive or self.mean_ms is None:
            return None
        now = self._clock()
        if now < self._next_check:
            return None
        self._next_check = now + self._check_every
        wanted = self.threads * BUDGET_MS / max(self.mean_ms, 1e-3)
        target = max(self.minimum, min(self.maximum, math.ceil(wanted)))
        too_wide = target < self.size and (
            target == self.minimum or target <= self.size / SHRINK_BELOW
        )
        if not too_wide:
            self._too_wide_since = None
            if target > self.size and (target == self.maximum or target >= self.size * 2):
                self.size = target
                return target
            return None
        if self._too_wide_since is None:
            self._too_wide_since = now
        if now - self._too_wide_since < self._shrink_after:
            return None
        self._too_wide_since = None
        self.size = target
        return target
