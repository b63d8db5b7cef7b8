"""Barrier: wait until ``parties`` participants have arrived (used by group callbacks)."""

from __future__ import annotations

from .backend import RateLimiterBackend
from .rate_limiter import check_positive


class Barrier:
    """A barrier shared through ``backend``; ``ttl`` (ms) bounds how long it is kept.

    >>> barrier = Barrier(backend, "some-uuid", ttl=30_000)
    >>> barrier.create(parties=2)
    True
    >>> barrier.wait(block=False)
    False
    >>> barrier.wait(block=False)  # the last party
    True

    Use a unique key (a UUID) per barrier: reusing keys between blocking waits is undefined.
    """

    def __init__(self, backend: RateLimiterBackend, key: str, *, ttl: int = 900_000) -> None:
        self.backend = backend
        self.key = key
        self.key_events = key + "@events"
        self.ttl = check_positive("ttl", ttl)

    def create(self, parties: int) -> bool:
        """Create the barrier for ``parties`` participants; False if it already exists."""
        check_positive("parties", parties)
        return self.backend.add(self.key, parties, self.ttl)

    def wait(self, *, block: bool = True, timeout: int | None = None) -> bool:
        """Arrive at the barrier. True once every party has arrived (for the last party at
        once; for the others, with ``block=True``, when the last one arrives within ``timeout``
        ms). With ``block=False`` the other parties get False immediately."""
        released = not self.backend.decr(self.key, 1, minimum=1, ttl=self.ttl)
        if released:
            self.backend.wait_notify(self.key_events, self.ttl)
            return True
        if block:
            return self.backend.wait(self.key_events, timeout)
        return False

    def __repr__(self) -> str:
        return f"Barrier({self.backend!r}, {self.key!r})"
