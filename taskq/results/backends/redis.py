"""Results in Redis: plain values with a PX TTL, plus a wake-up list per result so a blocking
``get_result`` waits on the server (BLMOVE) instead of polling."""

from __future__ import annotations

from typing import Any

try:
    import redis
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("RedisBackend needs the redis client: pip install 'taskq[redis]'") from e

from ...encoder import Encoder
from ..backend import Missing, ResultBackend

#: Suffix of the list that receives a token when a result is stored.
READY_SUFFIX = ":ready"


class RedisBackend(ResultBackend):
    """Stores results in Redis under ``{namespace}:{digest}`` for ``result_ttl`` ms.

    ``get_result(block=True)`` blocks in Redis (BLMOVE on ``{key}:ready``, a one-element list
    pushed in the same transaction as the value), so a result is seen the moment it is stored
    and a waiting client costs nothing while it waits.

    Pass ``client`` (a ``redis.Redis``), or ``url``, or connection ``params`` for it; and
    ``namespace``, ``encoder``, ``use_namespace_prefix_keys`` as to every backend.
    """

    def __init__(
        self,
        *,
        namespace: str = "taskq-results",
        encoder: Encoder | None = None,
        use_namespace_prefix_keys: bool = False,
        client: redis.Redis | None = None,
        url: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(
            namespace=namespace,
            encoder=encoder,
            use_namespace_prefix_keys=use_namespace_prefix_keys,
        )
        if client is None:
            client = redis.Redis.from_url(url, **params) if url else redis.Redis(**params)
        self.client = client

    def _read(self, key: str) -> bytes | None:
        return as_bytes(self.client.get(key))

    def _write(self, key: str, data: bytes, ttl: int) -> None:
        ready = key + READY_SUFFIX
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, data, px=ttl)
        # exactly one token, living as long as the value, for blocked readers to see
        pipe.delete(ready)
        pipe.rpush(ready, b"1")
        pipe.pexpire(ready, ttl)
        pipe.execute()

    def increment(self, key: str, amount: int, ttl: int) -> int:
        """Atomically add ``amount`` to the counter at ``key`` and renew its TTL (ms)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.incrby(key, amount)
        pipe.pexpire(key, ttl)
        value, _ = pipe.execute()
        return int(value)

    def _wait(self, key: str, timeout: int) -> Any:
        data = self._read(key)
        if data is None and timeout > 0:
            ready = key + READY_SUFFIX
            # BLMOVE from the list onto itself leaves the token in place for other readers;
            # it returns as soon as the token exists, or None after the timeout.
            token = self.client.blmove(ready, ready, timeout / 1000, "RIGHT", "LEFT")  # type: ignore[arg-type]  # redis-py's stub says int; the server takes seconds as a float
            if token is not None:
                data = self._read(key)
        return Missing if data is None else self.encoder.decode(data)

    def flush(self) -> None:
        """Delete every result of this namespace (SCAN, so it never blocks Redis)."""
        keys = list(self.client.scan_iter(match=f"{self.namespace}:*", count=1000))
        for i in range(0, len(keys), 500):
            self.client.delete(*keys[i : i + 500])


def as_bytes(value: bytes | str | None) -> bytes | None:
    """A reply as bytes whether or not the client decodes responses."""
    return value.encode() if isinstance(value, str) else value
