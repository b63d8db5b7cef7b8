"""At-least-once on Redis: a dead worker's messages come back within the bound; a busy one
keeps heartbeating."""

from __future__ import annotations

import threading
import time

import taskq

from ...helpers import wait_for

HEARTBEAT_TIMEOUT = 1000
REQUEUE_INTERVAL = 200


def declare(broker, queue_name, record):
    @taskq.actor(queue_name=queue_name, broker=broker, actor_name="work")
    def work(i):
        record.append(i)

    return work


def test_dead_workers_messages_are_requeued_within_the_bound(brokers, namespace, queue_name):
    options = dict(
        namespace=namespace,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        requeue_interval=REQUEUE_INTERVAL,
    )
    dying = brokers(**options)
    never_run = []
    declare(dying, queue_name, never_run)
    dying.enqueue_many([taskq.Message(queue_name, "work", (i,)) for i in range(3)])
    consumer = dying.consume(queue_name, prefetch=3, timeout=100)
    fetched = [next(consumer) for _ in range(3)]
    assert all(fetched)
    assert dying.queue_stats()[queue_name]["in_flight"] == 3
    dying._keeper.stop()  # the process "dies": no heartbeat, no ack, consumer abandoned
    died_at = time.monotonic()

    survivor = brokers(**options)
    seen = []
    declare(survivor, queue_name, seen)
    worker = taskq.Worker(survivor, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        bound = (HEARTBEAT_TIMEOUT + REQUEUE_INTERVAL) / 1000 + 3
        wait_for(lambda: sorted(seen) == [0, 1, 2], timeout=bound, message="requeued messages")
        print(f"dead worker's messages ran {time.monotonic() - died_at:.2f}s after it died")
        ids = [w["worker_id"] for w in survivor.worker_heartbeats()]
        assert dying.worker_id not in ids
        assert survivor.worker_id in ids
    finally:
        worker.stop(timeout=5000)
    assert never_run == []


def test_long_cpu_bound_task_keeps_its_worker_alive(brokers, namespace, queue_name):
    options = dict(
        namespace=namespace,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        requeue_interval=REQUEUE_INTERVAL,
    )
    busy_broker = brokers(**options)
    watcher = brokers(**options)
    runs = []
    finished = threading.Event()

    @taskq.actor(queue_name=queue_name, broker=busy_broker)
    def crunch():
        runs.append(1)
        deadline = time.monotonic() + 3 * HEARTBEAT_TIMEOUT / 1000
        total = 0
        while time.monotonic() < deadline:  # pure-Python CPU work, holding the GIL
            total += sum(range(1000))
        finished.set()

    crunch.send()
    worker = taskq.Worker(busy_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        wait_for(lambda: runs, message="task started")
        while not finished.is_set():
            assert watcher._keeper.maintain() == 0, "the busy worker was declared dead"
            beats = {w["worker_id"]: w for w in watcher.worker_heartbeats()}
            assert beats[busy_broker.worker_id]["alive"]
            finished.wait(0.1)
        wait_for(lambda: busy_broker.queue_stats()[queue_name]["in_flight"] == 0, message="ack")
    finally:
        worker.stop(timeout=5000)
    assert runs == [1]


def test_closing_the_last_consumer_retires_the_worker(redis_broker, queue_name, start_worker):
    seen = []
    declare(redis_broker, queue_name, seen)
    redis_broker.enqueue(taskq.Message(queue_name, "work", (1,)))
    worker = start_worker(redis_broker)
    wait_for(lambda: seen == [1], message="message processed")
    assert [w["worker_id"] for w in redis_broker.worker_heartbeats()] == [redis_broker.worker_id]
    worker.stop(timeout=5000)
    assert redis_broker.worker_heartbeats() == []
