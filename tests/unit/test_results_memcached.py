"""The Memcached backends' constructor, as Dramatiq programs call it: pylibmc's server
spellings and keywords (with a warning for those pymemcache ignores), ``pool``/``pool_size`` and
``pool.reserve()``. No server is needed: pymemcache connects on first use."""

from __future__ import annotations

import queue
import time
import warnings

import pytest

pytest.importorskip("pymemcache")

from taskq.memcached import (  # noqa: E402 - after the importorskip
    DEFAULT_PORT,
    MemcachedOptionWarning,
    MemcachedPool,
    PylibmcCompatibleClient,
    _Serde,
    client_parameters,
    expire_seconds,
    parse_server,
    parse_servers,
)
from taskq.rate_limits.backends import MemcachedBackend as RateLimitBackend  # noqa: E402
from taskq.results.backends import MemcachedBackend as ResultBackend  # noqa: E402

BACKENDS = [ResultBackend, RateLimitBackend]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("127.0.0.1", ("127.0.0.1", DEFAULT_PORT)),
        ("cache.internal", ("cache.internal", 11211)),
        ("127.0.0.1:11311", ("127.0.0.1", 11311)),
        (" cache:1 ", ("cache", 1)),
        ("[::1]:11212", ("::1", 11212)),
        ("[::1]", ("::1", 11211)),
        ("::1", ("::1", 11211)),
        (("10.1.2.3", 5), ("10.1.2.3", 5)),
        ("/run/memcached.sock", "/run/memcached.sock"),
    ],
)
def test_servers_are_read_as_pylibmc_reads_them(spec, expected):
    assert parse_server(spec) == expected


@pytest.mark.parametrize("spec", ["", "host:port", ":11211", "[::1]:x", None])
def test_a_server_that_is_not_a_host_is_refused_by_name(spec):
    with pytest.raises(ValueError, match="not a host"):
        parse_server(spec)


def test_one_string_may_name_several_servers():
    assert parse_servers("a,b:2") == [("a", 11211), ("b", 2)]
    with pytest.raises(ValueError, match="at least one server"):
        parse_servers([])


def test_pylibmc_keywords_pymemcache_cannot_honour_are_named_in_a_warning():
    with pytest.warns(MemcachedOptionWarning) as caught:
        parameters = client_parameters(
            binary=True, username="u", password="p", behaviors={"ketama": True, "cas": True}
        )
    text = str(caught[0].message)
    for name in ("binary", "username", "password", "behaviors['ketama']"):
        assert name in text
    assert "cas" not in text.replace("behaviors['ketama']", "")  # CAS always works
    assert parameters == {"connect_timeout": 5, "timeout": 5}


def test_behaviors_with_a_pymemcache_equivalent_are_translated_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parameters = client_parameters(
            binary=False,
            behaviors={"connect_timeout": 250, "receive_timeout": 2_000_000, "tcp_nodelay": 1},
        )
    assert parameters == {"connect_timeout": 0.25, "timeout": 2.0, "no_delay": True}
    assert client_parameters(timeout=1)["timeout"] == 1  # pymemcache's own pass through


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_backends_take_dramatiqs_constructor(backend_class):
    with pytest.warns(MemcachedOptionWarning, match="binary"):
        backend = backend_class(servers=["127.0.0.1"], binary=True)
    assert backend.pool.servers == [("127.0.0.1", 11211)]
    assert backend.pool.pool_size == 8
    with backend.pool.reserve() as client:
        assert isinstance(client, PylibmcCompatibleClient)
        assert client.client.server == ("127.0.0.1", 11211)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_pool_size_bounds_the_clients_lent_at_once(backend_class):
    backend = backend_class(servers=["127.0.0.1:11211", "127.0.0.2"], pool_size=2)
    with backend.pool.reserve() as first, backend.pool.reserve(block=True) as second:
        assert first is not second
        assert sorted(first.client.clients) == ["127.0.0.1:11211", "127.0.0.2:11211"]
        with pytest.raises(queue.Empty), backend.pool.reserve(block=False):
            pass
    with backend.pool.reserve(block=False):
        pass  # both came back


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_a_given_pool_is_used_as_it_is(backend_class):
    pool = MemcachedPool(["127.0.0.1"], pool_size=1)
    assert backend_class(pool=pool).pool is pool


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_a_shared_pymemcache_client_is_lent_to_everyone(backend_class):
    from pymemcache.client.base import PooledClient

    shared = PooledClient(("127.0.0.1", 11211))
    backend = backend_class(client=shared)
    with backend.pool.reserve() as one, backend.pool.reserve() as two:
        assert one is two and one.client is shared


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_unknown_keywords_and_bad_pool_sizes_are_refused(backend_class):
    with pytest.raises(TypeError):
        backend_class(servers=["127.0.0.1"], no_such_option=1)
    with pytest.raises(ValueError, match="pool_size"):
        backend_class(pool_size=0)


def test_ttls_become_memcached_expiry_times():
    assert [expire_seconds(ms) for ms in (0, 1, 1000, 1001)] == [1, 1, 1, 2]
    month_and_a_day = 31 * 86_400 * 1000
    assert abs(expire_seconds(month_and_a_day) - (time.time() + 31 * 86_400)) < 5


def test_values_keep_their_python_type_and_nothing_is_unpickled():
    serde = _Serde()
    for value in (b"\x00raw", "text", 42, -3):
        data, flags = serde.serialize("k", value)
        assert serde.deserialize("k", data, flags) == value
        assert type(serde.deserialize("k", data, flags)) is type(value)
    with pytest.raises(TypeError, match="bytes, str or int"):
        serde.serialize("k", {"a": 1})
    assert serde.deserialize("k", b"\x80\x04K\x01.", 1 << 3) == b"\x80\x04K\x01."
