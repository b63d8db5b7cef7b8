"""Dramatiq's key layout: hand-pushed messages are served, namespaces stay apart."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import redis

import taskq
from taskq.brokers.redis import RedisBroker
from taskq.errors import ConnectionClosed
from taskq.results import Results
from taskq.results.backends import RedisBackend

from ...helpers import wait_for


def test_hand_pushed_message_is_processed(redis_broker, raw_redis, queue_name, start_worker):
    seen = []

    @taskq.actor(queue_name=queue_name)
    def greet(name):
        seen.append(name)

    redis_id = str(uuid.uuid4())
    payload = {
        "queue_name": queue_name,
        "actor_name": "greet",
        "args": ["from a shell"],
        "kwargs": {},
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": 1_700_000_000_000,
    }
    ns = redis_broker.namespace
    raw_redis.hset(f"{ns}:{queue_name}.msgs", redis_id, json.dumps(payload))
    raw_redis.rpush(f"{ns}:{queue_name}", redis_id)
    start_worker(redis_broker)
    wait_for(lambda: seen == ["from a shell"], message="hand-pushed message processed")
    wait_for(lambda: raw_redis.hlen(f"{ns}:{queue_name}.msgs") == 0, message="message acked")


def test_enqueue_writes_dramatiq_keys(redis_broker, raw_redis, queue_name):
    @taskq.actor(queue_name=queue_name)
    def noop():
        pass

    message = noop.send()
    ns = redis_broker.namespace
    redis_id = message.options["redis_message_id"]
    assert redis_id != message.message_id
    assert raw_redis.lrange(f"{ns}:{queue_name}", 0, -1) == [redis_id.encode()]
    stored = json.loads(raw_redis.hget(f"{ns}:{queue_name}.msgs", redis_id))
    assert stored["message_id"] == message.message_id
    assert stored["options"]["redis_message_id"] == redis_id

    delayed = noop.send_with_options(delay=60_000)
    delayed_id = delayed.options["redis_message_id"]
    assert raw_redis.lrange(f"{ns}:{queue_name}.DQ", 0, -1) == [delayed_id.encode()]
    stored = json.loads(raw_redis.hget(f"{ns}:{queue_name}.DQ.msgs", delayed_id))
    assert stored["queue_name"] == f"{queue_name}.DQ"
    assert stored["options"]["eta"] >= stored["message_timestamp"] + 60_000


def test_namespaces_are_isolated(brokers, namespace, raw_redis, queue_name):
    other_namespace = namespace + "-other"
    try:
        first = brokers(namespace=namespace, heartbeat_timeout=2000)
        second = brokers(namespace=other_namespace, heartbeat_timeout=2000)
        for broker in (first, second):
            broker.add_middleware(
                Results(backend=RedisBackend(namespace=f"{broker.namespace}-results"))
            )
        ran = {first.namespace: [], second.namespace: []}

        def declare(broker):
            @taskq.actor(queue_name=queue_name, broker=broker, store_results=True, max_retries=0)
            def work(x):
                ran[broker.namespace].append(x)
                if x == "fail":
                    raise ValueError("dead in " + broker.namespace)
                return x

            return work

        first_work, second_work = declare(first), declare(second)
        sent = first_work.send("one")
        first_work.send("fail")
        worker = taskq.Worker(second, worker_timeout=100, worker_threads=2)
        worker.start()
        try:
            second_work.send("two").get_result(
                backend=second.get_results_backend(), block=True, timeout=10_000
            )
            assert ran[second.namespace] == ["two"]
            assert second.queue_stats()[queue_name]["ready"] == 0
            assert first.queue_stats()[queue_name]["ready"] == 2
            assert not second.get_results_backend().has_result(sent)
            assert [w["worker_id"] for w in second.worker_heartbeats()] == [second.worker_id]
            assert first.worker_heartbeats() == []
        finally:
            worker.stop(timeout=5000)

        worker = taskq.Worker(first, worker_timeout=100, worker_threads=2)
        worker.start()
        try:
            backend = first.get_results_backend()
            assert sent.get_result(backend=backend, block=True, timeout=10_000) == "one"
            wait_for(lambda: first.dead_letter_messages(queue_name), message="dead letter")
            assert second.dead_letter_messages(queue_name) == []
            assert [w["worker_id"] for w in first.worker_heartbeats()] == [first.worker_id]
            assert all(w["worker_id"] != first.worker_id for w in second.worker_heartbeats())
        finally:
            worker.stop(timeout=5000)
        assert sorted(ran[first.namespace]) == ["fail", "one"]
        assert ran[second.namespace] == ["two"]
    finally:
        for key in raw_redis.scan_iter(match=f"{other_namespace}*"):
            raw_redis.delete(key)
        for key in raw_redis.scan_iter(match=f"{namespace}-results*"):
            raw_redis.delete(key)


def test_unreachable_redis_raises_a_masked_connection_error(queue_name):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    broker = RedisBroker(url=f"redis://:hunter2@127.0.0.1:{port}/0")
    broker.declare_queue(queue_name)
    with pytest.raises(ConnectionClosed) as caught:
        broker.enqueue(taskq.Message(queue_name, "anything"))
    assert isinstance(caught.value, redis.ConnectionError)  # as Dramatiq programs expect
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    broker.close()


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="heartbeat_timeout"):
        RedisBroker(heartbeat_timeout=0)
    with pytest.raises(ValueError, match="requeue_deadline"):
        RedisBroker(heartbeat_timeout=5000, requeue_deadline=4000)
    assert RedisBroker(heartbeat_timeout=5000, requeue_deadline=6000).requeue_interval == 1000
