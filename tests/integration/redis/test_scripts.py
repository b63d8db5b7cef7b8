"""Each Lua script on its own, against real Redis, checked through the raw keys."""

from __future__ import annotations

import pytest

from taskq.common import current_millis

WORKER = "worker-1"


@pytest.fixture
def run(redis_broker):
    """``run(script, *args)`` calls a broker script with the namespace as first argument."""

    def call(script, *args):
        return redis_broker.scripts[script](args=[redis_broker.namespace, *args])

    return call


@pytest.fixture
def key(redis_broker):
    return lambda suffix: f"{redis_broker.namespace}:{suffix}"


def test_enqueue_stores_payload_queues_id_and_bounds_wake_tokens(run, key, raw_redis):
    args = []
    for i in range(20):
        args += ["jobs", f"id{i}", f"payload{i}"]
    assert run("enqueue", *args) == 20
    assert raw_redis.lrange(key("jobs"), 0, 1) == [b"id0", b"id1"]
    assert raw_redis.hget(key("jobs.msgs"), "id19") == b"payload19"
    assert raw_redis.llen(key("__notify__.jobs")) == 16


def test_enqueue_of_interleaved_queues_keeps_each_queue_in_order(run, key, raw_redis):
    run("enqueue", "jobs", "j1", "J1", "mail", "m1", "M1", "jobs", "j2", "J2", "mail", "m2", "M2")
    run("enqueue", "jobs", "j3", "J3")
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"j1", b"j2", b"j3"]
    assert raw_redis.lrange(key("mail"), 0, -1) == [b"m1", b"m2"]
    assert raw_redis.hgetall(key("mail.msgs")) == {b"m1": b"M1", b"m2": b"M2"}
    assert raw_redis.llen(key("__notify__.jobs")) == 3  # one token per message, up to 16
    assert raw_redis.llen(key("__notify__.mail")) == 2


def test_fetch_records_acks_and_heartbeat_and_skips_orphans(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A", "jobs", "b", "B", "jobs", "c", "C")
    raw_redis.hdel(key("jobs.msgs"), "a")  # an id whose payload is gone
    now = current_millis()
    assert run("fetch", "jobs", WORKER, now, 1) == [b"b", b"B"]
    assert raw_redis.smembers(key(f"__acks__.{WORKER}.jobs")) == {b"b"}
    assert raw_redis.zscore(key("__heartbeats__"), WORKER) == now
    assert raw_redis.smembers(key(f"__ackqueues__.{WORKER}")) == {b"jobs"}
    assert raw_redis.llen(key("__notify__.jobs")) >= 1  # "c" is still waiting
    assert run("fetch", "jobs", WORKER, now, 5) == [b"c", b"C"]
    assert raw_redis.exists(key("__notify__.jobs")) == 0  # empty queue, no tokens
    assert run("fetch", "jobs", WORKER, now, 5) == []


def test_ack_only_by_the_holder(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A")
    run("fetch", "jobs", WORKER, current_millis(), 1)
    assert run("ack", "jobs", "someone-else", current_millis(), "a") == 0
    assert raw_redis.hexists(key("jobs.msgs"), "a")
    assert run("ack", "jobs", WORKER, current_millis(), "a") == 1
    assert not raw_redis.hexists(key("jobs.msgs"), "a")
    assert raw_redis.scard(key(f"__acks__.{WORKER}.jobs")) == 0


def test_ack_many_in_one_call(run, key, raw_redis):
    for message_id in "abc":
        run("enqueue", "jobs", message_id, message_id.upper())
    run("fetch", "jobs", WORKER, current_millis(), 2)
    # "c" was never fetched by this worker, so it is not acked
    assert run("ack", "jobs", WORKER, current_millis(), "a", "b", "c") == 2
    assert raw_redis.hkeys(key("jobs.msgs")) == [b"c"]


def test_nack_moves_to_dead_letters_with_reason(run, key, raw_redis):
    run("enqueue", "jobs.DQ", "a", "A")
    run("fetch", "jobs.DQ", WORKER, current_millis(), 1)
    assert run("nack", "jobs.DQ", WORKER, "a", 1234, "boom") == 1
    assert raw_redis.zscore(key("jobs.XQ"), "a") == 1234  # the canonical queue's XQ
    assert raw_redis.hget(key("jobs.XQ.msgs"), "a") == b"A"
    assert raw_redis.hget(key("jobs.XQ.reasons"), "a") == b"boom"
    assert not raw_redis.hexists(key("jobs.DQ.msgs"), "a")


def test_requeue_puts_messages_back_at_the_head_in_order(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A", "jobs", "b", "B", "jobs", "c", "C")
    run("fetch", "jobs", WORKER, current_millis(), 2)
    assert run("requeue", "jobs", WORKER, "a", "b") == 2
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"a", b"b", b"c"]
    assert run("requeue", "jobs", WORKER, "a") == 0  # no longer held


def test_promote_is_atomic_and_refuses_a_lost_message(run, key, raw_redis):
    run("enqueue", "jobs.DQ", "d1", "D1", "jobs.DQ", "d2", "D2")
    run("fetch", "jobs.DQ", WORKER, current_millis(), 2)
    assert run("promote", "jobs.DQ", WORKER, "d1", "n1", "N1") == 1
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"n1"]
    assert raw_redis.hget(key("jobs.msgs"), "n1") == b"N1"
    assert not raw_redis.hexists(key("jobs.DQ.msgs"), "d1")
    # maintenance took d2 back (the worker looked dead): promoting it must do nothing
    raw_redis.srem(key(f"__acks__.{WORKER}.jobs.DQ"), "d2")
    assert run("promote", "jobs.DQ", WORKER, "d2", "n2", "N2") == 0
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"n1"]


def test_recover_worker_requeues_and_forgets_a_dead_worker(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A", "jobs.DQ", "d", "D")
    run("fetch", "jobs", WORKER, 1000, 1)
    run("fetch", "jobs.DQ", WORKER, 1000, 1)
    raw_redis.hset(key("__workers__"), WORKER, "{}")
    now = current_millis()
    assert run("recover_worker", WORKER, now, 60_000) == 2
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"a"]
    assert raw_redis.lrange(key("jobs.DQ"), 0, -1) == [b"d"]
    assert raw_redis.zscore(key("__heartbeats__"), WORKER) is None
    assert not raw_redis.hexists(key("__workers__"), WORKER)
    assert raw_redis.exists(key(f"__ackqueues__.{WORKER}"), key(f"__acks__.{WORKER}.jobs")) == 0


def test_recover_worker_spares_a_worker_that_heartbeat_meanwhile(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A")
    now = current_millis()
    run("fetch", "jobs", WORKER, now, 1)
    assert run("recover_worker", WORKER, now, 60_000) == -1
    assert raw_redis.smembers(key(f"__acks__.{WORKER}.jobs")) == {b"a"}


def test_recover_worker_uses_given_queues_for_foreign_workers(run, key, raw_redis):
    # a Dramatiq worker keeps no __ackqueues__ set: the caller names the queues
    raw_redis.hset(key("jobs.msgs"), "a", "A")
    raw_redis.sadd(key("__acks__.dramatiq-worker.jobs"), "a")
    raw_redis.zadd(key("__heartbeats__"), {"dramatiq-worker": 1})
    assert run("recover_worker", "dramatiq-worker", current_millis(), 1000, "jobs") == 1
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"a"]


def test_expire_dead_deletes_old_dead_letters_only(run, key, raw_redis):
    raw_redis.zadd(key("jobs.XQ"), {"old": 100, "new": 5000})
    raw_redis.hset(key("jobs.XQ.msgs"), mapping={"old": "O", "new": "N"})
    raw_redis.hset(key("jobs.XQ.reasons"), mapping={"old": "r", "new": "r"})
    assert run("expire_dead", 1000, "jobs") == 1
    assert raw_redis.zrange(key("jobs.XQ"), 0, -1) == [b"new"]
    assert raw_redis.hkeys(key("jobs.XQ.msgs")) == [b"new"]
    assert raw_redis.hkeys(key("jobs.XQ.reasons")) == [b"new"]


def test_requeue_dead_moves_dead_letters_back(run, key, raw_redis):
    raw_redis.zadd(key("jobs.XQ"), {"a": 1, "b": 2})
    raw_redis.hset(key("jobs.XQ.msgs"), mapping={"a": "A", "b": "B"})
    assert run("requeue_dead", "jobs", "a", "missing") == 1
    assert raw_redis.lrange(key("jobs"), 0, -1) == [b"a"]
    assert raw_redis.hget(key("jobs.msgs"), "a") == b"A"
    assert raw_redis.zrange(key("jobs.XQ"), 0, -1) == [b"b"]


def test_stats_counts_in_one_snapshot(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A", "jobs", "b", "B", "jobs.DQ", "d", "D")
    run("fetch", "jobs", WORKER, current_millis(), 1)
    raw_redis.zadd(key("jobs.XQ"), {"x": 1})
    assert run("stats", "jobs") == [1, 1, 1, 1]


def test_retire_only_without_unacked_messages(run, key, raw_redis):
    run("enqueue", "jobs", "a", "A")
    run("fetch", "jobs", WORKER, current_millis(), 1)
    assert run("retire", WORKER) == 0
    run("ack", "jobs", WORKER, current_millis(), "a")
    assert run("retire", WORKER) == 1
    assert raw_redis.zscore(key("__heartbeats__"), WORKER) is None
