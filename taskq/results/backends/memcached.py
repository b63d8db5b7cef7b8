"""Results in Memcached (pymemcache), with TTLs.

Memcached has no blocking read, so ``get_result(block=True)`` polls: first after 1 ms, the
pause doubling up to 50 ms, until the timeout. That bounds the load a waiting client puts on
the server while keeping the delay to a result small.
"""

from __future__ import annotations

import math
import time
from typing import Any

try:
    from pymemcache.client.base import PooledClient
    from pymemcache.client.hash import HashClient
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("MemcachedBackend needs pymemcache: pip install 'taskq[memcached]'") from e

from ...encoder import Encoder
from ..backend import ResultBackend

DEFAULT_SERVERS = ("127.0.0.1:11211",)


class MemcachedBackend(ResultBackend):
    """Stores results in Memcached for ``result_ttl`` ms (rounded up to whole seconds, the
    server's resolution). Blocking reads poll with a bounded back-off (1 ms doubling to 50 ms).

    Pass ``client`` (a pymemcache client) or ``servers`` (``"host:port"`` strings; keys are
    spread over several servers by hashing; connections are pooled, so the backend is
    thread-safe) and pymemcache ``params``.
    """

    def __init__(
        self,
        *,
        namespace: str = "taskq-results",
        encoder: Encoder | None = None,
        client: Any = None,
        servers: tuple[str, ...] | list[str] = DEFAULT_SERVERS,
        **params: Any,
    ) -> None:
        super().__init__(namespace=namespace, encoder=encoder)
        if client is None:
            if not servers:
                raise ValueError("MemcachedBackend: servers must name at least one host:port")
            addresses = [_address(server) for server in servers]
            if len(addresses) == 1:
                client = PooledClient(addresses[0], **params)
            else:
                client = HashClient(addresses, use_pooling=True, **params)
        self.client = client

    def _get(self, key: str) -> bytes | None:
        value = self.client.get(key)
        return value.encode() if isinstance(value, str) else value

    def _store(self, key: str, value: bytes, ttl: int) -> None:
        self.client.set(key, value, expire=_seconds(ttl), noreply=False)

    def _delete(self, key: str) -> None:
        self.client.delete(key, noreply=False)

    def increment(self, key: str, amount: int, ttl: int) -> int:
        """Atomically add ``amount`` to the counter at ``key`` (created at 0); renews its TTL."""
        expire = _seconds(ttl)
        while True:
            value = self.client.incr(key, amount, noreply=False)
            if value is None and self.client.add(key, str(amount), expire=expire, noreply=False):
                return amount
            if value is not None:
                self.client.touch(key, expire=expire, noreply=False)
                return int(value)
            # another client created the counter between our incr and add: incr again


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"MemcachedBackend: server {server!r} is not host:port")
    return host, int(port)


#: Memcached reads expiry times above 30 days as UNIX timestamps.
_RELATIVE_LIMIT = 30 * 86_400


def _seconds(ttl_ms: int) -> int:
    seconds = max(1, math.ceil(ttl_ms / 1000))
    return seconds if seconds <= _RELATIVE_LIMIT else int(time.time()) + seconds
