"""Broker scripts called on a pooled connection directly (LeanScript), against real Redis:
same replies and errors as redis-py's Script, and redis-py's own path when a connection fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from taskq.brokers.redis.scripts import LEAN_PATH, LeanScript, connection_stash

from ...factories.redis import REDIS_URL


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    """A client of its own, with a name its connections can be found (and killed) by."""
    name = f"taskq-lean-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL, client_name=name)
    yield client
    client.close()


def _script(client: redis.Redis, body: str) -> LeanScript:
    # A comment unique to this test: the server has never seen this SHA (no SCRIPT FLUSH,
    # which would touch every other user of the server).
    return LeanScript(client, f"-- {uuid.uuid4().hex}\n{body}")


def test_the_lean_path_is_taken_on_a_plain_client(client):
    assert LEAN_PATH
    assert _script(client, "return 1").pool is client.connection_pool


def test_a_script_the_server_has_not_seen_is_loaded_and_run(client):
    script = _script(client, "return {ARGV[1], ARGV[2]}")
    assert script(args=["a", 2]) == [b"a", b"2"]
    assert script(args=["b", 3]) == [b"b", b"3"]


def test_an_error_reply_raises_and_the_connection_stays_usable(client):
    failing = _script(client, "return redis.error_reply('nope')")
    with pytest.raises(redis.ResponseError, match="nope"):
        failing(args=[])
    assert _script(client, "return 7")(args=[]) == 7


def test_a_killed_connection_falls_back_to_redis_py_and_its_retries(client, raw_redis):
    key = f"taskq-lean-{uuid.uuid4().hex[:8]}"
    script = _script(client, "return redis.call('incr', ARGV[1])")
    try:
        assert script(args=[key]) == 1
        name = client.client_getname()
        killed = [c for c in raw_redis.client_list() if c.get("name") == name]
        assert killed
        for connection in killed:
            raw_redis.client_kill_filter(_id=connection["id"])
        assert script(args=[key]) == 2  # went out again on a fresh connection
    finally:
        raw_redis.delete(key)


def test_pipelines_take_redis_pys_path(client):
    script = _script(client, "return tonumber(ARGV[1]) * 2")
    pipe = client.pipeline(transaction=False)
    script(args=[2], client=pipe)
    script(args=[5], client=pipe)
    assert pipe.execute() == [4, 10]


def test_a_single_connection_client_takes_redis_pys_path():
    client = redis.Redis.from_url(REDIS_URL, single_connection_client=True)
    try:
        script = _script(client, "return 3")
        assert script.pool is None
        assert script(args=[]) == 3
    finally:
        client.close()


def test_a_connection_kept_after_a_call_serves_the_next_one(client):
    stash = connection_stash(client)
    assert stash is not None
    scripts = [LeanScript(client, f"-- {uuid.uuid4().hex}\nreturn {n}", stash) for n in range(3)]
    assert [scripts[n % 3](args=[]) for n in range(30)] == [n % 3 for n in range(30)]
    kept = stash.take()
    stash.keep(kept)
    assert stash.take() is kept
    assert kept.can_read() is False  # in step with the server: no reply left unread
    stash.keep(kept)
    stash.close()  # hands it back to the pool, which lends it out next
    lent = client.connection_pool.get_connection()
    assert lent is kept
    client.connection_pool.release(lent)


def test_a_forked_child_calls_on_connections_of_its_own(client):
    name = client.connection_pool.connection_kwargs["client_name"]
    script = _script(client, "return 1")

    def connections_named_so() -> int:
        with redis.Redis.from_url(REDIS_URL) as probe:
            return sum(1 for c in probe.client_list() if c.get("name") == name)

    script(args=[])  # the parent now holds a stashed connection
    before = connections_named_so()
    pid = os.fork()
    if pid == 0:  # the child must open its own: a reply read off the parent's socket is a race
        script(args=[])
        os._exit(0 if connections_named_so() == before + 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    script(args=[])  # the parent's connection is still in step


def test_a_blocking_pool_lends_nothing_to_the_stash():
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(REDIS_URL))
    try:
        script = _script(client, "return 4")
        assert script.pool is None
        assert script(args=[]) == 4
    finally:
        client.close()
