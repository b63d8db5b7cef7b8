"""A rate limiter backend on Memcached (pymemcache), using add and compare-and-swap, with
Dramatiq's constructor and ``pool``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...memcached import DEFAULT_POOL_SIZE, NOT_FOUND_ERRORS, MemcachedPool, expire_seconds
from ..backend import RateLimiterBackend

#: The first pause (s) between two reads of a barrier's key in ``wait``; it doubles up to
#: :data:`WAIT_POLL_INTERVAL`, so parties released together wake within a few milliseconds.
WAIT_FIRST_POLL = 0.001
#: The longest pause (s) between two reads in ``wait`` (Memcached cannot block on a key).
WAIT_POLL_INTERVAL = 0.008


class MemcachedBackend(RateLimiterBackend):
    """Rate limiter backend on Memcached.

    Takes Dramatiq's arguments: ``servers`` (``["127.0.0.1"]`` by default; a host without a
    port means 11211), ``pool_size`` (8 clients) or ``pool`` (an object whose ``reserve()``
    lends a client, such as :class:`taskq.memcached.MemcachedPool`; a pylibmc pool needs the
    ``cas`` behavior). pylibmc's ``binary``, ``behaviors``, ``username`` and ``password`` are
    accepted, and a warning names those pymemcache ignores; pymemcache's own parameters pass
    through, and ``client`` shares one thread-safe pymemcache client.

    TTLs are rounded up to whole seconds, Memcached's resolution. Blocking barrier waits
    poll (1 ms, doubling up to 8 ms between reads).
    """

    def __init__(
        self,
        *,
        pool: Any = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        client: Any = None,
        servers: Any = ("127.0.0.1",),
        **parameters: Any,
    ) -> None:
        if pool is None:
            pool = MemcachedPool(servers, pool_size=pool_size, client=client, **parameters)
        self.pool = pool

    def add(self, key: str, value: int, ttl: int) -> bool:
        with self.pool.reserve(block=True) as client:
            return bool(client.add(key, value, time=expire_seconds(ttl)))

    def _update(self, key: str, change: Callable[[Any, int], int | None], ttl: int) -> bool:
        """Apply ``change(client, value)`` to the counter atomically (CAS loop); None from it
        means refuse."""
        expire = expire_seconds(ttl)
        with self.pool.reserve(block=True) as client:
            while True:
                raw, token = client.gets(key)
                if token is None:
                    value = change(client, 0)
                    if value is None:
                        return False
                    if client.add(key, value, time=expire):
                        return True
                    continue  # someone created it meanwhile
                value = change(client, int(raw))
                if value is None:
                    return False
                try:
                    if client.cas(key, value, token, time=expire):
                        return True
                except NOT_FOUND_ERRORS:
                    continue  # it expired or was deleted meanwhile

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        return self._update(key, lambda _, v: v + amount if v + amount <= maximum else None, ttl)

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        return self._update(key, lambda _, v: v - amount if v - amount >= minimum else None, ttl)

    def incr_and_sum(
        self, key: str, keys: Callable[[], list[str]], amount: int, maximum: int, ttl: int
    ) -> bool:
        def change(client: Any, value: int) -> int | None:
            others = [k for k in keys() if k != key]
            stored = client.get_multi(others) if others else {}
            total = value + amount + sum(int(v) for v in stored.values())
            return value + amount if total <= maximum else None

        return self._update(key, change, ttl)

    def wait(self, key: str, timeout: int | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        pause = WAIT_FIRST_POLL
        while True:
            with self.pool.reserve(block=True) as client:
                if client.get(key) is not None:
                    return True
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                pause = min(pause, remaining)
            time.sleep(pause)
            pause = min(pause * 2, WAIT_POLL_INTERVAL)

    def wait_notify(self, key: str, ttl: int) -> None:
        with self.pool.reserve(block=True) as client:
            client.set(key, "x", time=expire_seconds(ttl))

    def __repr__(self) -> str:
        return f"MemcachedBackend({self.pool!r})"
