"""ConcurrentRateLimiter: at most ``limit`` holders at once (``limit=1`` is a mutex)."""

from __future__ import annotations

from .backend import RateLimiterBackend
from .rate_limiter import RateLimiter, check_positive


class ConcurrentRateLimiter(RateLimiter):
    """Allow at most ``limit`` concurrent holders of ``key``. ``ttl`` (ms) bounds how long a
    crashed holder can keep a slot."""

    def __init__(
        self, backend: RateLimiterBackend, key: str, *, limit: int = 1, ttl: int = 900_000
    ) -> None:
        super().__init__(backend, key)
        self.limit = check_positive("limit", limit)
        self.ttl = check_positive("ttl", ttl)

    def _acquire(self) -> bool:
        if self.backend.add(self.key, 1, ttl=self.ttl):
            return True
        return self.backend.incr(self.key, 1, maximum=self.limit, ttl=self.ttl)

    def _release(self) -> None:
        self.backend.decr(self.key, 1, minimum=0, ttl=self.ttl)
