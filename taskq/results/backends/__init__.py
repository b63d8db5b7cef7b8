"""Result backends. Optional ones are imported lazily so their clients stay optional."""

from __future__ import annotations

from typing import Any

from .stub import StubBackend

_LAZY = {
    "RedisBackend": ".redis",
    "DramatiqRedisBackend": ".dramatiq_redis",
    "MemcachedBackend": ".memcached",
    "SQLiteBackend": ".sqlite",
}

__all__ = ["StubBackend", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)
