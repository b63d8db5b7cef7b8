"""Memcached connections for the result and rate limiter backends, on pymemcache.

Dramatiq's Memcached backends take pylibmc's arguments (``servers=["127.0.0.1"]``,
``binary=True``, ``behaviors={...}``) and expose ``backend.pool``, a pylibmc ``ClientPool``
whose ``reserve()`` lends a client. This module gives taskq's backends the same surface on
pymemcache, so code and test fixtures written for Dramatiq keep working:

>>> pool = MemcachedPool(["127.0.0.1"], pool_size=4)
>>> with pool.reserve() as client:
...     client.flush_all()

:func:`parse_server` reads pylibmc's server spellings; :func:`client_parameters` turns
pylibmc's keywords into pymemcache's and warns about the ones pymemcache cannot honour; the
client that :meth:`MemcachedPool.reserve` yields (:class:`PylibmcCompatibleClient`) offers
pylibmc's method names and return values on top of a pymemcache client.
"""

from __future__ import annotations

import math
import queue
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

try:
    from pymemcache.client.base import Client  # type: ignore[import-untyped]
    from pymemcache.client.hash import HashClient  # type: ignore[import-untyped]
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("Memcached backends need pymemcache: pip install 'taskq[memcached]'") from e

#: The port of a server named without one (``"127.0.0.1"``), as in pylibmc.
DEFAULT_PORT = 11211
#: The default number of clients in a pool (Dramatiq's ``pool_size``).
DEFAULT_POOL_SIZE = 8

#: pylibmc keywords pymemcache has no equivalent for: accepted, then ignored with a warning.
IGNORED_KEYWORDS = ("binary", "username", "password")

#: pylibmc behaviors that map onto pymemcache client parameters.
_TIMEOUT_BEHAVIORS = {"connect_timeout": 1_000, "receive_timeout": 1_000_000}
#: pylibmc behaviors that need nothing here (pymemcache always supports CAS).
_NEEDLESS_BEHAVIORS = frozenset({"cas"})

# Value flags (pymemcache's "serde"): bytes as they are, text as UTF-8, integers as digits,
# so counters can be INCR'd by the server and read back as ints, as with pylibmc.
_FLAG_BYTES, _FLAG_TEXT, _FLAG_INT = 0, 1, 2


class NotFound(KeyError):
    """The key does not exist (what pylibmc raises from ``incr``, ``decr`` and ``cas``)."""


class MemcachedOptionWarning(UserWarning):
    """A pylibmc option was given that pymemcache cannot honour: it is ignored."""


def _not_found_errors() -> tuple[type[BaseException], ...]:
    try:
        import pylibmc  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return (NotFound,)
    return (NotFound, pylibmc.NotFound)


#: What a lent client raises for a missing key: :class:`NotFound`, and pylibmc's ``NotFound``
#: when pylibmc is installed (a backend may be given a pylibmc pool).
NOT_FOUND_ERRORS = _not_found_errors()

#: Memcached reads an expiry above 30 days as an absolute UNIX time.
_RELATIVE_EXPIRY_LIMIT = 30 * 86_400


def expire_seconds(ttl_ms: int) -> int:
    """A TTL in ms as Memcached's expiry: whole seconds, rounded up (at least 1, since 0 means
    never), and an absolute time past 30 days."""
    seconds = max(1, math.ceil(ttl_ms / 1000))
    return seconds if seconds <= _RELATIVE_EXPIRY_LIMIT else int(time.time()) + seconds


def parse_server(server: str | tuple[str, int]) -> tuple[str, int] | str:
    """One server in any spelling pylibmc reads: ``"host"`` (port 11211), ``"host:port"``,
    ``"[::1]:port"``, a ``(host, port)`` tuple, or a UNIX socket path (``"/run/mc.sock"``,
    returned as is)."""
    if isinstance(server, tuple):
        host, port = server
        return str(host), int(port)
    if not isinstance(server, str) or not server.strip():
        raise ValueError(f"Memcached server {server!r} is not a host, host:port or socket path")
    spec = server.strip()
    if spec.startswith("/"):
        return spec
    if spec.startswith("["):  # [IPv6] or [IPv6]:port
        name, _, rest = spec[1:].partition("]")
        digits = rest[1:] if rest.startswith(":") else ""
    elif spec.count(":") == 1:
        name, _, digits = spec.partition(":")
    else:  # a bare host name, IPv4 address or unbracketed IPv6 address
        name, digits = spec, ""
    if not name or (digits and not digits.isdigit()):
        raise ValueError(f"Memcached server {server!r} is not a host, host:port or socket path")
    return name, int(digits) if digits else DEFAULT_PORT


def parse_servers(servers: Iterable[str | tuple[str, int]] | str) -> list[tuple[str, int] | str]:
    """Every server of ``servers``: a list, or one string (commas separate several)."""
    if isinstance(servers, str):
        servers = [part for part in servers.split(",") if part.strip()]
    parsed = [parse_server(server) for server in servers]
    if not parsed:
        raise ValueError("Memcached needs at least one server")
    return parsed


def client_parameters(
    *,
    binary: bool = False,
    behaviors: Mapping[str, Any] | None = None,
    username: str | None = None,
    password: str | None = None,
    **pymemcache_parameters: Any,
) -> dict[str, Any]:
    """pymemcache client parameters from pylibmc's keywords (and pymemcache's own, which pass
    through). pylibmc's ``connect_timeout`` (ms), ``receive_timeout`` / ``send_timeout`` (µs)
    and ``tcp_nodelay`` behaviors are translated; ``binary=True``, ``username``, ``password``
    and any other behavior have no pymemcache equivalent: a :class:`MemcachedOptionWarning`
    names them, and they are ignored."""
    parameters = dict(pymemcache_parameters)
    ignored = [
        name
        for name, value in (("binary", binary), ("username", username), ("password", password))
        if value
    ]
    for name, value in (behaviors or {}).items():
        if name in _TIMEOUT_BEHAVIORS:
            key = "connect_timeout" if name == "connect_timeout" else "timeout"
            parameters.setdefault(key, value / _TIMEOUT_BEHAVIORS[name])
        elif name == "send_timeout":
            parameters.setdefault("timeout", value / 1_000_000)
        elif name == "tcp_nodelay":
            parameters.setdefault("no_delay", bool(value))
        elif name not in _NEEDLESS_BEHAVIORS:
            ignored.append(f"behaviors[{name!r}]")
    if ignored:
        warnings.warn(
            f"pymemcache ignores these pylibmc options: {', '.join(ignored)} "
            "(taskq talks to Memcached with pymemcache, over the text protocol)",
            MemcachedOptionWarning,
            stacklevel=3,
        )
    parameters.setdefault("connect_timeout", 5)
    parameters.setdefault("timeout", 5)
    return parameters


def new_client(servers: list[tuple[str, int] | str], **parameters: Any) -> Any:
    """One pymemcache client for ``servers`` (keys hashed over several), values typed as
    pylibmc types them (bytes, str, int)."""
    parameters.setdefault("serde", _Serde())
    if len(servers) == 1:
        return Client(servers[0], **parameters)
    return HashClient(servers, **parameters)


class PylibmcCompatibleClient:
    """A pymemcache client behind pylibmc's ``Client`` methods: ``get``, ``get_multi``,
    ``set``/``add``/``replace`` (``time`` in seconds), ``delete``, ``incr``/``decr``, ``gets``
    /``cas``, ``touch``, ``flush_all``, ``get_stats``. Every command waits for the server's
    answer. Missing keys raise :class:`NotFound` where pylibmc raises ``NotFound``.

    Any other attribute is the pymemcache client's (``client.client``).
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, key: str, default: Any = None) -> Any:
        return self.client.get(key, default)

    def get_multi(self, keys: Iterable[str], key_prefix: str = "") -> dict[str, Any]:
        found = self.client.get_many([key_prefix + key for key in keys])
        return {_text(key)[len(key_prefix) :]: value for key, value in found.items()}

    def set(self, key: str, value: Any, time: int = 0, min_compress_len: int = 0) -> bool:
        return bool(self.client.set(key, value, expire=time, noreply=False))

    def set_multi(self, mapping: Mapping[str, Any], time: int = 0) -> list[str]:
        """Store every pair; returns the keys that were not stored."""
        return [
            _text(key) for key in self.client.set_many(dict(mapping), expire=time, noreply=False)
        ]

    def add(self, key: str, value: Any, time: int = 0, min_compress_len: int = 0) -> bool:
        return bool(self.client.add(key, value, expire=time, noreply=False))

    def replace(self, key: str, value: Any, time: int = 0, min_compress_len: int = 0) -> bool:
        return bool(self.client.replace(key, value, expire=time, noreply=False))

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(key, noreply=False))

    def delete_multi(self, keys: Iterable[str]) -> bool:
        return bool(self.client.delete_many(list(keys), noreply=False))

    def incr(self, key: str, delta: int = 1) -> int:
        value = self.client.incr(key, delta, noreply=False)
        if value is None:
            raise NotFound(key)
        return int(value)

    def decr(self, key: str, delta: int = 1) -> int:
        value = self.client.decr(key, delta, noreply=False)
        if value is None:
            raise NotFound(key)
        return int(value)

    def gets(self, key: str) -> tuple[Any, Any]:
        """``(value, cas_id)``, or ``(None, None)`` when the key is missing."""
        value, cas_id = self.client.gets(key)
        return (value, cas_id) if cas_id is not None else (None, None)

    def cas(self, key: str, value: Any, cas_id: Any, time: int = 0) -> bool:
        """Store ``value`` if the key is unchanged since ``gets``; raises NotFound if it is
        gone."""
        stored = self.client.cas(key, value, cas_id, expire=time, noreply=False)
        if stored is None:
            raise NotFound(key)
        return bool(stored)

    def touch(self, key: str, time: int = 0) -> bool:
        return bool(self.client.touch(key, expire=time, noreply=False))

    def flush_all(self, time: int = 0) -> bool:
        return bool(self.client.flush_all(delay=time, noreply=False))

    def get_stats(self, stat_args: str | None = None) -> list[tuple[str, dict[str, str]]]:
        """``[(server, {name: value})]`` for every server, as pylibmc returns them."""
        args = stat_args.split() if stat_args else []
        clients = getattr(self.client, "clients", None)
        if clients:  # a HashClient: one entry per server
            return [(name, _stats(client.stats(*args))) for name, client in clients.items()]
        return [(_describe(self.client.server), _stats(self.client.stats(*args)))]

    def disconnect_all(self) -> None:
        self.client.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __repr__(self) -> str:
        return f"<PylibmcCompatibleClient {self.client!r}>"


class MemcachedPool:
    """``pool_size`` clients for ``servers``; ``reserve()`` lends one, as pylibmc's
    ``ClientPool.reserve`` does (``block=False`` raises ``queue.Empty`` when all are lent).

    Pass ``client`` (a thread-safe pymemcache client, such as ``PooledClient`` or
    ``HashClient(use_pooling=True)``) to share that one client instead.
    """

    def __init__(
        self,
        servers: Iterable[str | tuple[str, int]] | str = ("127.0.0.1",),
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        client: Any = None,
        **parameters: Any,
    ) -> None:
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive integer, got {pool_size!r}")
        self.shared = None if client is None else PylibmcCompatibleClient(client)
        self.servers = [] if client is not None else parse_servers(servers)
        self.pool_size = pool_size
        self._clients: queue.Queue[PylibmcCompatibleClient] = queue.Queue(pool_size)
        if client is None:
            options = client_parameters(**parameters)
            for _ in range(pool_size):  # pymemcache connects on first use
                self._clients.put(PylibmcCompatibleClient(new_client(self.servers, **options)))

    @contextmanager
    def reserve(self, block: bool = False) -> Iterator[PylibmcCompatibleClient]:
        """Lend a client for the ``with`` block; it returns to the pool afterwards."""
        if self.shared is not None:
            yield self.shared
            return
        client = self._clients.get(block)
        try:
            yield client
        finally:
            self._clients.put(client)

    def close(self) -> None:
        """Close every idle client's connection (they reconnect if used again)."""
        if self.shared is not None:
            self.shared.disconnect_all()
            return
        for _ in range(self._clients.qsize()):
            with self.reserve() as client:
                client.disconnect_all()

    def __repr__(self) -> str:
        if self.shared is not None:
            return f"MemcachedPool(client={self.shared.client!r})"
        servers = ", ".join(_describe(server) for server in self.servers)
        return f"MemcachedPool([{servers}], pool_size={self.pool_size})"


class _Serde:
    """pymemcache value typing: bytes, str and int round-trip; anything else is refused
    (taskq never unpickles what it reads from a shared server)."""

    def serialize(self, key: Any, value: Any) -> tuple[bytes, int]:
        if isinstance(value, bytes | bytearray):
            return bytes(value), _FLAG_BYTES
        if isinstance(value, str):
            return value.encode(), _FLAG_TEXT
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value).encode(), _FLAG_INT
        raise TypeError(f"Memcached values must be bytes, str or int, not {type(value).__name__}")

    def deserialize(self, key: Any, value: bytes, flags: int) -> Any:
        if flags == _FLAG_TEXT:
            return value.decode()
        if flags == _FLAG_INT:
            return int(value)
        return value


def _stats(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(name): _text(value) for name, value in raw.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _describe(server: Any) -> str:
    if isinstance(server, tuple):
        host, port = server
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(server)
