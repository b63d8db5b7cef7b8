"""Result backends. Optional ones are imported lazily so their clients stay optional: naming
one whose client is not installed raises an AttributeError that says what to install."""

from __future__ import annotations

from importlib import import_module
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
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # The module raises ImportError naming the extra to install when its client is missing.
    return getattr(import_module(_LAZY[name], __name__), name)
