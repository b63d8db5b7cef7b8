"""Rate limiters and barriers, shared across processes through a backend (Redis, Memcached).

Same names and semantics as Dramatiq's ``dramatiq.rate_limits``::

    backend = RedisBackend(url="redis://127.0.0.1:6379/0")
    mutex = ConcurrentRateLimiter(backend, "distributed-mutex", limit=1)
    with mutex.acquire():
        ...
"""

from __future__ import annotations

from ..errors import RateLimitExceeded
from .backend import RateLimiterBackend
from .barrier import Barrier
from .bucket import BucketRateLimiter
from .concurrent import ConcurrentRateLimiter
from .rate_limiter import RateLimiter
from .window import WindowRateLimiter

__all__ = [
    "Barrier",
    "BucketRateLimiter",
    "ConcurrentRateLimiter",
    "RateLimitExceeded",
    "RateLimiter",
    "RateLimiterBackend",
    "WindowRateLimiter",
]
