"""What the worker processes of one ``taskq worker`` group share in memory: how many messages
each has finished, so that each one's thread governor (:mod:`taskq.worker.governor`) judges
by the whole group's throughput."""

from __future__ import annotations

import mmap
from collections.abc import Callable


class SharedCompletions:
    """A counter per worker slot in an anonymous shared mapping: made by the master before
    it forks the worker processes, which inherit it; each process adds to its own slot."""

    def __init__(self, processes: int) -> None:
        self._memory = mmap.mmap(-1, 8 * max(1, processes))
        self._counts = memoryview(self._memory).cast("Q")

    def counter(self, slot: int) -> Callable[[int], None]:
        """Publish the completions of the process in ``slot``: call it with that process's
        running total (the slot keeps what earlier processes in it had finished)."""
        counts, base = self._counts, self._counts[slot]

        def publish(done: int) -> None:
            counts[slot] = base + done

        return publish

    def total(self) -> int:
        """Completions of every process of the group so far."""
        return sum(self._counts)
