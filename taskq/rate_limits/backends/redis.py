"""A rate limiter backend on Redis: every counter update is one atomic Lua script.

Keys and values are Dramatiq's (plain integer strings with a PX TTL; barrier events are a list
holding ``x``), so taskq and Dramatiq processes can share limiters on one Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...common import mask_url
from ..backend import RateLimiterBackend

# KEYS[1]: the counter. ARGV: amount, maximum, ttl (ms).
INCR_UP_TO = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])  -- proposed value
if value > tonumber(ARGV[2]) then return 0 end                                 -- over the limit
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])                                -- store, renew TTL
return 1
"""

# KEYS[1]: the counter. ARGV: amount, minimum, ttl (ms).
DECR_DOWN_TO = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])  -- proposed value
if value < tonumber(ARGV[2]) then return 0 end                                 -- under the floor
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])                                -- store, renew TTL
return 1
"""

# KEYS[1]: the counter to increment; KEYS[2..n]: the other counters of the window.
# ARGV: amount, maximum, ttl (ms).
INCR_IF_SUM_FITS = """
local amount = tonumber(ARGV[1])
local total = amount
for i = 1, #KEYS do
  total = total + tonumber(redis.call('GET', KEYS[i]) or '0')                  -- sum the window
end
if total > tonumber(ARGV[2]) then return 0 end                                 -- window is full
local value = tonumber(redis.call('GET', KEYS[1]) or '0') + amount
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])                                -- count this one
return 1
"""


class RedisBackend(RateLimiterBackend):
    """Rate limiter backend on Redis. Pass ``client`` (a ``redis.Redis``), or ``url``, or
    connection ``parameters`` for ``redis.Redis``."""

    def __init__(self, *, client: Any = None, url: str | None = None, **parameters: Any) -> None:
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "RedisBackend needs the redis client: pip install 'taskq[redis]'"
            ) from e
        if client is None:
            if url is not None:
                parameters["connection_pool"] = redis.ConnectionPool.from_url(url)
            client = redis.Redis(**parameters)
        self.client = client
        self._incr = client.register_script(INCR_UP_TO)
        self._decr = client.register_script(DECR_DOWN_TO)
        self._incr_and_sum = client.register_script(INCR_IF_SUM_FITS)

    def add(self, key: str, value: int, ttl: int) -> bool:
        return bool(self.client.set(key, value, px=ttl, nx=True))

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        return bool(self._incr(keys=[key], args=[amount, maximum, ttl]))

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        return bool(self._decr(keys=[key], args=[amount, minimum, ttl]))

    def incr_and_sum(
        self, key: str, keys: Callable[[], list[str]], amount: int, maximum: int, ttl: int
    ) -> bool:
        others = [k for k in keys() if k != key]
        return bool(self._incr_and_sum(keys=[key, *others], args=[amount, maximum, ttl]))

    def wait(self, key: str, timeout: int | None) -> bool:
        # Pop the event and push it straight back, so every waiter sees it.
        seconds = 0 if timeout is None else max(timeout, 1) / 1000
        return self.client.brpoplpush(key, key, seconds) == b"x"

    def wait_notify(self, key: str, ttl: int) -> None:
        with self.client.pipeline() as pipe:
            pipe.rpush(key, b"x")
            pipe.pexpire(key, ttl)
            pipe.execute()

    def __repr__(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"RedisBackend({mask_url(_describe(kwargs))})"


def _describe(kwargs: dict[str, Any]) -> str:
    password = ":***@" if kwargs.get("password") else ""
    return f"redis://{password}{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
