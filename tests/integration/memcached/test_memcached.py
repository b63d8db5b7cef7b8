"""Memcached as Dramatiq programs use it, on real servers: backends built with Dramatiq's
arguments (``servers=["127.0.0.1"]``, ``binary=True``), ``pool.reserve()`` lending a client with
pylibmc's methods, and results stored and read through it.

Tests on the shared server at 127.0.0.1:11211 use keys of their own and delete them; the one
that flushes runs its own server on a spare port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest

pytest.importorskip("pymemcache")

import taskq  # noqa: E402 - after the importorskip
from taskq.memcached import MemcachedOptionWarning, MemcachedPool, NotFound  # noqa: E402
from taskq.results import ResultFailure, ResultMissing, Results  # noqa: E402
from taskq.results.backends import MemcachedBackend  # noqa: E402

from ...helpers import wait_for  # noqa: E402

pytestmark = pytest.mark.memcached


def _forget(backend: MemcachedBackend, key: str) -> None:
    """Remove ``key`` from Memcached (test cleanup)."""
    with backend.pool.reserve(block=True) as client:
        client.delete(key)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def prefix() -> str:
    if not _reachable("127.0.0.1", 11211):
        pytest.skip("Memcached unavailable on 127.0.0.1:11211")
    return f"taskq-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def backend(prefix: str) -> Iterator[MemcachedBackend]:
    """A results backend built as Dramatiq's fixtures build theirs."""
    with pytest.warns(MemcachedOptionWarning, match="binary"):
        backend = MemcachedBackend(namespace=prefix, servers=["127.0.0.1"], binary=True)
    yield backend
    backend.pool.close()


@pytest.fixture
def private_server() -> Iterator[int]:
    """A Memcached of this test's own on a spare port (so flushing it harms no one)."""
    binary = shutil.which("memcached")
    if binary is None:
        pytest.skip("memcached is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", "-u", "root"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _reachable("127.0.0.1", port), timeout=10, message="memcached up")
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_a_lent_client_flushes_and_reports_stats_as_pylibmcs_does(private_server):
    pool = MemcachedPool([f"127.0.0.1:{private_server}"], pool_size=2)
    with pool.reserve() as client:
        assert client.set("kept", b"value", time=60)
        [(server, stats)] = client.get_stats()
        assert server == f"127.0.0.1:{private_server}" and int(stats["curr_items"]) == 1
        assert client.flush_all()
        assert client.get("kept") is None
    pool.close()


def test_a_host_without_a_port_is_the_server_on_11211(prefix):
    pool = MemcachedPool(["127.0.0.1"], pool_size=1)
    with pool.reserve(block=True) as client:
        [(server, stats)] = client.get_stats()
        assert server == "127.0.0.1:11211" and "pid" in stats
        assert client.set(f"{prefix}-k", "text", time=60)
        assert client.get(f"{prefix}-k") == "text"
        assert client.delete(f"{prefix}-k")
    pool.close()


def test_a_lent_client_speaks_pylibmcs_methods(prefix):
    pool = MemcachedPool(["127.0.0.1"], pool_size=1)
    key, other = f"{prefix}-counter", f"{prefix}-other"
    with pool.reserve() as client:
        try:
            with pytest.raises(NotFound):
                client.incr(key)
            assert client.add(key, 5, time=60) is True
            assert client.add(key, 6, time=60) is False
            assert (client.incr(key, 2), client.decr(key)) == (7, 6)
            value, cas_id = client.gets(key)
            assert value == 6 and cas_id is not None
            assert client.cas(key, 10, cas_id, time=60) is True
            assert client.cas(key, 11, cas_id, time=60) is False  # changed since gets
            assert client.replace(key, 12, time=60) and client.touch(key, 60)
            assert client.set_multi({other: b"x"}, time=60) == []
            assert client.get_multi([key, other, f"{prefix}-none"]) == {key: 12, other: b"x"}
            assert client.delete_multi([other])
            assert client.gets(other) == (None, None)
        finally:
            client.delete(key)
    pool.close()


def test_results_round_trip_through_a_dramatiq_built_backend(backend):
    message = taskq.Message(queue_name="default", actor_name="add")
    with pytest.raises(ResultMissing):
        backend.get_result(message)
    backend.store_result(message, {"sum": 3}, ttl=10_000)
    assert backend.get_result(message) == {"sum": 3}
    assert backend.get_result(message.message_id, block=True, timeout=100) == {"sum": 3}

    backend.store_exception(message, ZeroDivisionError("division by zero"), ttl=10_000)
    with pytest.raises(ResultFailure, match="ZeroDivisionError: division by zero"):
        backend.get_result(message)

    with backend.pool.reserve() as client:  # stored under the key get_result reads
        assert client.get(backend.build_message_key(message)) is not None
        client.delete(backend.build_message_key(message))


def test_readable_keys_can_be_found_by_namespace(prefix):
    backend = MemcachedBackend(namespace=prefix, use_namespace_prefix_keys=True)
    message = taskq.Message(queue_name="emails", actor_name="send", message_id="id-7")
    backend.store_result(message, "sent", ttl=10_000)
    key = f"{prefix}:emails:send:id-7"
    with backend.pool.reserve() as client:
        assert client.get(key) == b'"sent"'
        client.delete(key)


def test_a_blocking_read_wakes_when_the_result_is_stored(backend):
    message = taskq.Message(queue_name="default", actor_name="slow")
    got = []
    waiter = threading.Thread(
        target=lambda: got.append(backend.get_result(message, block=True, timeout=10_000))
    )
    waiter.start()
    backend.store_result(message, "late", ttl=10_000)
    waiter.join(15)
    assert got == ["late"]
    _forget(backend, backend.build_message_key(message))


def test_increment_counts_across_the_pool(backend):
    key = f"{backend.namespace}:counter"
    threads = [
        threading.Thread(target=lambda: [backend.increment(key, 1, 10_000) for _ in range(20)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert backend.increment(key, 0, 10_000) == 80
    _forget(backend, key)


def test_a_worker_stores_results_in_memcached(backend, stub_broker, start_worker):
    stub_broker.add_middleware(Results(backend=backend))

    @taskq.actor(store_results=True, max_retries=0)
    def divide(a, b):
        return a / b

    start_worker(stub_broker)
    ok, failed = divide.send(6, 3), divide.send(1, 0)
    assert ok.get_result(backend=backend, block=True, timeout=10_000) == 2
    with pytest.raises(ResultFailure, match="ZeroDivisionError"):
        failed.get_result(backend=backend, block=True, timeout=10_000)
    for message in (ok, failed):
        _forget(backend, backend.build_message_key(message))
