"""Rate limiter backends. Redis and Memcached clients are imported only when used."""

from __future__ import annotations

from typing import Any

from .stub import StubBackend

_LAZY = {"RedisBackend": ".redis", "MemcachedBackend": ".memcached"}

__all__ = ["MemcachedBackend", "RedisBackend", "StubBackend"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
