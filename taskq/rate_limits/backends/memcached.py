"""A rate limiter backend on Memcached (pymemcache), using add and compare-and-swap."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ..backend import RateLimiterBackend

#: How often ``wait`` polls for a barrier notification (Memcached cannot block on a key).
WAIT_POLL_INTERVAL = 0.02


class MemcachedBackend(RateLimiterBackend):
    """Rate limiter backend on Memcached.

    Pass ``client`` (a pymemcache client), or ``servers`` (``["127.0.0.1:11211"]``, the default),
    ``pool_size`` and other pymemcache ``parameters``. TTLs are rounded up to whole seconds,
    Memcached's resolution. Blocking barrier waits poll every 20 ms.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        servers: list[str] | None = None,
        pool_size: int = 8,
        **parameters: Any,
    ) -> None:
        if client is None:
            try:
                from pymemcache.client.hash import HashClient
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "MemcachedBackend needs pymemcache: pip install 'taskq[memcached]'"
                ) from e
            parameters.setdefault("connect_timeout", 5)
            parameters.setdefault("timeout", 5)
            client = HashClient(
                servers or ["127.0.0.1:11211"],
                use_pooling=True,
                max_pool_size=pool_size,
                **parameters,
            )
        self.client = client

    def add(self, key: str, value: int, ttl: int) -> bool:
        return bool(self.client.add(key, str(value), expire=_seconds(ttl), noreply=False))

    def _update(self, key: str, change: Callable[[int], int | None], ttl: int) -> bool:
        """Apply ``change`` to the counter atomically (CAS loop); None from it means refuse."""
        expire = _seconds(ttl)
        while True:
            raw, token = self.client.gets(key)
            if raw is None:
                value = change(0)
                if value is None:
                    return False
                if self.client.add(key, str(value), expire=expire, noreply=False):
                    return True
                continue  # someone created it meanwhile
            value = change(int(raw))
            if value is None:
                return False
            if self.client.cas(key, str(value), token, expire=expire, noreply=False):
                return True

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        return self._update(key, lambda v: v + amount if v + amount <= maximum else None, ttl)

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        return self._update(key, lambda v: v - amount if v - amount >= minimum else None, ttl)

    def incr_and_sum(
        self, key: str, keys: Callable[[], list[str]], amount: int, maximum: int, ttl: int
    ) -> bool:
        def change(value: int) -> int | None:
            others = [k for k in keys() if k != key]
            stored = self.client.get_many(others) if others else {}
            total = value + amount + sum(int(v) for v in stored.values())
            return value + amount if total <= maximum else None

        return self._update(key, change, ttl)

    def wait(self, key: str, timeout: int | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        while self.client.get(key) is None:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_INTERVAL)
        return True

    def wait_notify(self, key: str, ttl: int) -> None:
        self.client.set(key, "x", expire=_seconds(ttl), noreply=False)

    def __repr__(self) -> str:
        return f"MemcachedBackend({self.client!r})"


#: Memcached reads an expiry above 30 days as an absolute UNIX time.
_RELATIVE_EXPIRY_LIMIT = 30 * 86_400


def _seconds(ttl_ms: int) -> int:
    seconds = max(1, math.ceil(ttl_ms / 1000))
    if seconds > _RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + seconds
    return seconds
