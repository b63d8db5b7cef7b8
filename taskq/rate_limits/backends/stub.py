"""An in-process rate limiter backend, for tests and single-process programs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..backend import RateLimiterBackend


class StubBackend(RateLimiterBackend):
    """Counters in a dict guarded by one lock; ``wait`` blocks on a condition variable."""

    def __init__(self) -> None:
        self.db: dict[str, tuple[int, float]] = {}
        self._condition = threading.Condition()

    def _get(self, key: str) -> int | None:
        entry = self.db.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= time.monotonic():
            del self.db[key]
            return None
        return value

    def _put(self, key: str, value: int, ttl: int) -> None:
        self.db[key] = (value, time.monotonic() + ttl / 1000)

    def add(self, key: str, value: int, ttl: int) -> bool:
        with self._condition:
            if self._get(key) is not None:
                return False
            self._put(key, value, ttl)
            return True

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        with self._condition:
            value = (self._get(key) or 0) + amount
            if value > maximum:
                return False
            self._put(key, value, ttl)
            return True

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        with self._condition:
            value = (self._get(key) or 0) - amount
            if value < minimum:
                return False
            self._put(key, value, ttl)
            return True

    def incr_and_sum(
        self, key: str, keys: Callable[[], list[str]], amount: int, maximum: int, ttl: int
    ) -> bool:
        with self._condition:
            total = amount + sum(self._get(k) or 0 for k in keys())
            if total > maximum:
                return False
            self._put(key, (self._get(key) or 0) + amount, ttl)
            return True

    def wait(self, key: str, timeout: int | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        with self._condition:
            while self._get(key) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def wait_notify(self, key: str, ttl: int) -> None:
        with self._condition:
            self._put(key, 1, ttl)
            self._condition.notify_all()

    def flush(self) -> None:
        """Forget every counter."""
        with self._condition:
            self.db.clear()
