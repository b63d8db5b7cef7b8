"""Delayed messages on Redis: promoted once, on time, whoever holds them."""

from __future__ import annotations

import collections

import taskq
from taskq.common import current_millis

from ...helpers import wait_for


def test_delayed_messages_run_once_each_with_two_workers(brokers, namespace, queue_name):
    runs = collections.Counter()
    started_at = {}
    workers = []
    for _ in range(2):
        broker = brokers(namespace=namespace, heartbeat_timeout=2000)

        @taskq.actor(queue_name=queue_name, broker=broker, actor_name="later")
        def later(i):
            runs[i] += 1
            started_at[i] = current_millis()

        workers.append(taskq.Worker(broker, worker_timeout=100, worker_threads=2))
    sent_at = current_millis()
    sent = workers[0].broker.enqueue_many(
        [taskq.Message(queue_name, "later", (i,)) for i in range(20)], delay=300
    )
    assert all(m.queue_name == f"{queue_name}.DQ" for m in sent)
    assert workers[0].broker.queue_stats()[queue_name]["delayed"] == 20
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: len(runs) == 20, message="20 delayed messages ran")
        wait_for(
            lambda: (
                workers[0].broker.queue_stats()[queue_name]
                == {"ready": 0, "delayed": 0, "in_flight": 0, "dead": 0}
            ),
            message="all acked",
        )
    finally:
        for worker in workers:
            worker.stop(timeout=5000)
    assert set(runs.values()) == {1}
    assert min(started_at.values()) >= sent_at + 300


def test_delayed_retry_runs_after_backoff(redis_broker, queue_name, start_worker):
    attempts = []

    @taskq.actor(queue_name=queue_name, max_retries=1, min_backoff=200, max_backoff=200)
    def flaky():
        attempts.append(current_millis())
        if len(attempts) == 1:
            raise RuntimeError("first time fails")

    flaky.send()
    start_worker(redis_broker)
    wait_for(lambda: len(attempts) == 2, message="retried")
    assert attempts[1] - attempts[0] >= 100  # jittered backoff of 200 ms is at least half
    wait_for(lambda: redis_broker.queue_stats()[queue_name]["delayed"] == 0, message="promoted")
