"""A running Worker consumes queues declared after it started, on every broker."""

from __future__ import annotations

import taskq
from taskq.common import current_millis

from ...helpers import wait_for


def test_an_actor_declared_after_start_is_consumed(any_broker, queue_name, start_worker):
    worker = start_worker(any_broker)
    seen = []

    @taskq.actor(queue_name=queue_name)
    def late(x):
        seen.append(x)

    for i in range(5):
        late.send(i)
    wait_for(lambda: len(seen) == 5, message="5 messages of the late actor")
    assert sorted(seen) == list(range(5))
    assert queue_name in worker.consumers


def test_a_late_actor_runs_delayed_messages_too(any_broker, queue_name, start_worker):
    start_worker(any_broker)
    ran_at = []

    @taskq.actor(queue_name=queue_name)
    def later():
        ran_at.append(current_millis())

    sent_at = current_millis()
    later.send_with_options(delay=300)
    wait_for(lambda: ran_at, message="the delayed message of the late actor")
    assert ran_at[0] - sent_at >= 300


def test_the_queues_filter_applies_to_late_queues(any_broker, queue_name, start_worker):
    worker = start_worker(any_broker, queues=[queue_name])

    @taskq.actor(queue_name=queue_name + "x")
    def ignored():
        pass

    @taskq.actor(queue_name=queue_name)
    def selected():
        pass

    assert queue_name in worker.consumers
    assert queue_name + "x" not in worker.consumers
    assert not any(name.startswith(queue_name + "x") for name in worker.consumers)


def test_a_stopped_worker_no_longer_follows_declarations(any_broker, queue_name):
    worker = taskq.Worker(any_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    followers = [m for m in any_broker.middleware if type(m).__name__ == "_WorkerMiddleware"]
    assert len(followers) == 1
    worker.stop(timeout=10_000)
    assert followers[0] not in any_broker.middleware

    @taskq.actor(queue_name=queue_name)
    def after_stop():
        pass

    assert queue_name not in worker.consumers


def test_a_queue_declared_while_paused_is_consumed_after_resume(
    any_broker, queue_name, start_worker
):
    worker = start_worker(any_broker, worker_threads=1)
    worker.pause()
    seen = []

    @taskq.actor(queue_name=queue_name)
    def late(x):
        seen.append(x)

    late.send(1)
    worker.resume()
    wait_for(lambda: seen == [1], message="the message sent while paused")
