"""Result backends from URLs, so that every process of a deployment (workers, notebooks, the
TUI) can be pointed at the same results with one setting, ``TASKQ_RESULTS_URL``:

- ``redis://host:6379/0?namespace=app-results`` (and ``rediss://``): :class:`RedisBackend`;
- ``memcached://host:11211,host2:11211?namespace=app-results``: :class:`MemcachedBackend`;
- ``sqlite:///path/to/results.db``: :class:`SQLiteBackend`;
- ``stub://``: :class:`StubBackend` (this process only).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ..common import mask_url, pop_query_parameter, sqlite_path
from .backend import ResultBackend
from .backends.stub import StubBackend

#: The environment variable naming the results backend every process should use.
RESULTS_URL_ENV = "TASKQ_RESULTS_URL"
SCHEMES = ("redis", "rediss", "memcached", "sqlite", "stub")


def backend_from_url(url: str) -> ResultBackend:
    """The result backend ``url`` names; raises ``ValueError`` naming an unknown scheme."""
    scheme = urlsplit(url).scheme.lower()
    url, namespace = pop_query_parameter(url, "namespace")
    options: dict[str, Any] = {"namespace": namespace} if namespace else {}
    if scheme in ("redis", "rediss"):
        from .backends.redis import RedisBackend

        return RedisBackend(url=url, **options)
    if scheme == "memcached":
        from .backends.memcached import MemcachedBackend

        servers = [server for server in urlsplit(url).netloc.split(",") if server]
        if not servers:
            raise ValueError(f"Results URL {mask_url(url)!r} names no memcached host:port")
        return MemcachedBackend(servers=servers, **options)
    if scheme == "sqlite":
        from .backends.sqlite import SQLiteBackend

        return SQLiteBackend(sqlite_path(url), **options)
    if scheme == "stub":
        return StubBackend(**options)
    raise ValueError(
        f"Unknown results URL scheme {scheme!r} in {mask_url(url)!r}; "
        f"known schemes: {', '.join(SCHEMES)}"
    )


def backend_from_environment() -> ResultBackend | None:
    """The backend ``TASKQ_RESULTS_URL`` names, or None when it is unset or empty."""
    url = os.environ.get(RESULTS_URL_ENV, "").strip()
    return backend_from_url(url) if url else None
