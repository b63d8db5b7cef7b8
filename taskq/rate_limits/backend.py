"""The interface every rate limiter backend implements. Times are in milliseconds."""

from __future__ import annotations

from collections.abc import Callable


class RateLimiterBackend:
    """A store of integer counters with TTLs, plus a wait/notify primitive for barriers.

    Every operation must be atomic across processes: that is what makes the limiters correct.
    """

    def add(self, key: str, value: int, ttl: int) -> bool:
        """Set ``key`` to ``value`` for ``ttl`` ms only if it does not exist; True if it was set."""
        raise NotImplementedError  # pragma: no cover - interface

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        """Add ``amount`` to ``key`` (missing counts as 0) unless the sum would exceed
        ``maximum``; True if it was incremented. The key then lives ``ttl`` ms."""
        raise NotImplementedError  # pragma: no cover - interface

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        """Subtract ``amount`` from ``key`` (missing counts as 0) unless the result would drop
        below ``minimum``; True if it was decremented. The key then lives ``ttl`` ms."""
        raise NotImplementedError  # pragma: no cover - interface

    def incr_and_sum(
        self, key: str, keys: Callable[[], list[str]], amount: int, maximum: int, ttl: int
    ) -> bool:
        """Add ``amount`` to ``key`` unless the sum over ``keys()`` plus ``amount`` would exceed
        ``maximum``; True if it was incremented."""
        raise NotImplementedError  # pragma: no cover - interface

    def wait(self, key: str, timeout: int | None) -> bool:
        """Block until :meth:`wait_notify` is called for ``key`` (or was already), at most
        ``timeout`` ms (None: forever). True if notified."""
        raise NotImplementedError  # pragma: no cover - interface

    def wait_notify(self, key: str, ttl: int) -> None:
        """Wake every party waiting on ``key``; the notification stays visible ``ttl`` ms."""
        raise NotImplementedError  # pragma: no cover - interface
