"""BucketRateLimiter: at most ``limit`` operations per fixed time bucket."""

from __future__ import annotations

import time

from .backend import RateLimiterBackend
from .rate_limiter import RateLimiter, check_positive


class BucketRateLimiter(RateLimiter):
    """Allow ``limit`` acquisitions per ``bucket`` ms, counted in fixed, aligned buckets.

    Cheap, but a burst may straddle two buckets (up to ``2 * limit`` in one ``bucket`` span);
    :class:`WindowRateLimiter` avoids that at a higher cost.
    """

    def __init__(
        self, backend: RateLimiterBackend, key: str, *, limit: int = 1, bucket: int = 1000
    ) -> None:
        super().__init__(backend, key)
        self.limit = check_positive("limit", limit)
        self.bucket = check_positive("bucket", bucket)

    def _acquire(self) -> bool:
        now = time.time_ns() // 1_000_000
        bucket_key = f"{self.key}@{now - now % self.bucket}"
        if self.backend.add(bucket_key, 1, ttl=self.bucket):
            return True
        return self.backend.incr(bucket_key, 1, maximum=self.limit, ttl=self.bucket)

    def _release(self) -> None:
        """Slots of a bucket are used up, not given back."""
