"""Results in Memcached (on pymemcache), with TTLs; Dramatiq's constructor and ``pool``.

Memcached has no blocking read, so ``get_result(block=True)`` polls: first after 1 ms, the
pause doubling up to 50 ms, until the timeout. That bounds the load a waiting client puts on
the server while keeping the delay to a result small.
"""

from __future__ import annotations

from typing import Any

from ...encoder import Encoder
from ...memcached import DEFAULT_POOL_SIZE, NOT_FOUND_ERRORS, MemcachedPool, expire_seconds
from ..backend import ResultBackend


class MemcachedBackend(ResultBackend):
    """Stores results in Memcached for ``result_ttl`` ms (rounded up to whole seconds, the
    server's resolution).

    Takes Dramatiq's arguments: ``servers`` (``["127.0.0.1"]`` by default; a host without a
    port means 11211; several servers share the keys by hashing), ``pool_size`` (8 clients),
    or ``pool`` (an object whose ``reserve()`` lends a client, such as a
    :class:`taskq.memcached.MemcachedPool`). pylibmc's ``binary``, ``behaviors``,
    ``username`` and ``password`` are accepted; those pymemcache cannot honour are named in
    a warning and ignored. pymemcache's own parameters (``connect_timeout``, ``timeout``,
    ``tls_context``...) pass through, and ``client`` shares one thread-safe pymemcache client.

    ``backend.pool.reserve()`` lends a client with pylibmc's methods, as in Dramatiq::

        with backend.pool.reserve() as client:
            client.flush_all()
    """

    def __init__(
        self,
        *,
        namespace: str = "taskq-results",
        encoder: Encoder | None = None,
        use_namespace_prefix_keys: bool = False,
        pool: Any = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        client: Any = None,
        servers: Any = ("127.0.0.1",),
        **parameters: Any,
    ) -> None:
        super().__init__(
            namespace=namespace,
            encoder=encoder,
            use_namespace_prefix_keys=use_namespace_prefix_keys,
        )
        if pool is None:
            pool = MemcachedPool(servers, pool_size=pool_size, client=client, **parameters)
        self.pool = pool

    def _read(self, key: str) -> bytes | None:
        with self.pool.reserve(block=True) as client:
            value = client.get(key)
        if isinstance(value, int):  # a counter (see increment)
            return str(value).encode()
        return value.encode() if isinstance(value, str) else value

    def _write(self, key: str, data: bytes, ttl: int) -> None:
        with self.pool.reserve(block=True) as client:
            client.set(key, data, time=expire_seconds(ttl))

    def increment(self, key: str, amount: int, ttl: int) -> int:
        """Atomically add ``amount`` to the counter at ``key`` (created at 0); renews its TTL."""
        expire = expire_seconds(ttl)
        with self.pool.reserve(block=True) as client:
            while True:
                try:
                    value = int(client.incr(key, amount))
                except NOT_FOUND_ERRORS:
                    if client.add(key, amount, time=expire):
                        return amount
                    continue  # another client created the counter meanwhile: incr again
                client.touch(key, expire)
                return value

    def __repr__(self) -> str:
        return f"MemcachedBackend({self.pool!r}, namespace={self.namespace!r})"
