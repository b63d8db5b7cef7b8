"""WindowRateLimiter: at most ``limit`` operations in any sliding window of ``window`` seconds."""

from __future__ import annotations

import time

from .backend import RateLimiterBackend
from .rate_limiter import RateLimiter, check_positive


class WindowRateLimiter(RateLimiter):
    """Allow ``limit`` acquisitions in the last ``window`` **seconds** (seconds, as in Dramatiq:
    one counter is kept per second of the window)."""

    def __init__(
        self, backend: RateLimiterBackend, key: str, *, limit: int = 1, window: int = 1
    ) -> None:
        super().__init__(backend, key)
        self.limit = check_positive("limit", limit)
        self.window = check_positive("window", window)
        self.window_millis = self.window * 1000

    def _window_keys(self) -> list[str]:
        second = int(time.time())
        return [f"{self.key}@{second - offset}" for offset in range(self.window)]

    def _acquire(self) -> bool:
        keys = self._window_keys()
        return self.backend.incr_and_sum(
            keys[0], self._window_keys, 1, maximum=self.limit, ttl=self.window_millis
        )

    def _release(self) -> None:
        """Acquisitions stay counted until they slide out of the window."""
