"""Worker: pause/resume, priorities, stop requeues prefetched work, bad messages."""

from __future__ import annotations

import json
import threading

import pytest

import taskq
from taskq.errors import QueueJoinTimeout

from ..helpers import wait_for


def blocking_actor(queue_name):
    release, started = threading.Event(), threading.Event()

    @taskq.actor(queue_name=queue_name, actor_name=f"blocker_{queue_name}")
    def blocker():
        started.set()
        release.wait(10)

    return blocker, started, release


def test_higher_priority_messages_run_first(stub_broker, queue_name, start_worker):
    order = []
    blocker, started, release = blocking_actor(queue_name)

    @taskq.actor(queue_name="low_q", priority=10)
    def low():
        order.append("low")

    @taskq.actor(queue_name="high_q", priority=0)
    def high():
        order.append("high")

    worker = start_worker(stub_broker, worker_threads=1)
    blocker.send()
    assert started.wait(10)
    low.send()
    high.send()
    wait_for(lambda: worker.work_queue.qsize() == 2, message="both messages prefetched")
    release.set()
    wait_for(lambda: len(order) == 2, message="both messages processed")
    assert order == ["high", "low"]


def test_pause_holds_new_work_until_resume(stub_broker, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def work():
        ran.append(1)

    worker = start_worker(stub_broker)
    worker.pause()
    work.send()
    with pytest.raises(QueueJoinTimeout):
        stub_broker.join(queue_name, timeout=300)
    assert ran == []
    worker.resume()
    stub_broker.join(queue_name, timeout=10_000)
    assert ran == [1]


def test_stop_requeues_prefetched_messages(stub_broker, queue_name):
    ran = []
    blocker, started, release = blocking_actor(queue_name)

    @taskq.actor(queue_name=queue_name)
    def work():
        ran.append(1)

    worker = taskq.Worker(stub_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    blocker.send()
    assert started.wait(10)
    work.send()
    wait_for(lambda: worker.work_queue.qsize() == 1, message="the message prefetched")
    stopper = threading.Thread(target=worker.stop, kwargs={"timeout": 10_000})
    stopper.start()
    wait_for(lambda: stub_broker.queue_stats()[queue_name]["ready"] == 1, message="requeued")
    release.set()
    stopper.join(20)
    assert ran == []

    second = taskq.Worker(stub_broker, worker_timeout=100, worker_threads=1)
    second.start()
    try:
        stub_broker.join(queue_name, timeout=10_000)
    finally:
        second.stop(timeout=10_000)
    assert ran == [1]


def test_stop_waits_for_running_messages(stub_broker, queue_name):
    started, finished = threading.Event(), []

    @taskq.actor(queue_name=queue_name)
    def work():
        started.set()
        for _ in range(20):
            threading.Event().wait(0.01)
        finished.append(1)

    worker = taskq.Worker(stub_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    work.send()
    assert started.wait(10)
    worker.stop(timeout=10_000)
    assert finished == [1]


def test_worker_join_waits_for_delayed_messages(stub_broker, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def later():
        ran.append(1)

    worker = start_worker(stub_broker)
    later.send_with_options(delay=100)
    stub_broker.join(queue_name, timeout=10_000)
    worker.join()
    assert ran == [1]


def test_unknown_actors_and_malformed_messages_are_dead_lettered(
    stub_broker, queue_name, start_worker
):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def work():
        ran.append(1)

    ghost = taskq.Message(queue_name=queue_name, actor_name="ghost")
    stub_broker.enqueue(ghost)
    bad = work.message().asdict()
    bad["args"] = "not a list"
    stub_broker.enqueue_raw(queue_name, json.dumps(bad).encode())
    work.send()
    start_worker(stub_broker)
    wait_for(lambda: len(stub_broker.dead_letter_messages(queue_name)) == 2, message="2 dead")
    stub_broker.join(queue_name, timeout=10_000, fail_fast=False)
    reasons = sorted(letter.reason for letter in stub_broker.dead_letter_messages(queue_name))
    assert "unknown actor 'ghost'" in reasons[1]
    assert "'args'" in reasons[0]
    assert ran == [1]


def test_a_worker_can_be_limited_to_some_queues(stub_broker, start_worker):
    ran = []

    @taskq.actor(queue_name="wanted")
    def wanted():
        ran.append("wanted")

    @taskq.actor(queue_name="ignored")
    def ignored():
        ran.append("ignored")

    wanted.send()
    ignored.send()
    start_worker(stub_broker, queues=["wanted"])
    stub_broker.join("wanted", timeout=10_000)
    assert ran == ["wanted"]
    assert stub_broker.queue_stats()["ignored"]["ready"] == 1


def test_stub_join_reraises_a_dead_lettered_exception_by_default(start_worker, queue_name):
    from taskq.brokers.stub import StubBroker

    broker = StubBroker()

    @taskq.actor(queue_name=queue_name, max_retries=0, broker=broker)
    def broken():
        raise KeyError("the original error")

    broken.send()
    start_worker(broker)
    with pytest.raises(KeyError, match="the original error"):
        broker.join(queue_name, timeout=10_000)
    broker.join(queue_name, timeout=10_000, fail_fast=False)
