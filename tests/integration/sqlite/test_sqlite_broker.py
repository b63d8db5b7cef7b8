"""SQLite-specific behaviour: native delays, priorities, leases, heartbeats, events, raw rows."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

import pytest

import taskq
from taskq.brokers.sqlite import SQLiteBroker
from taskq.common import current_millis
from taskq.errors import QueueNotFound

from ...helpers import wait_for


@pytest.fixture
def broker(tmp_path):
    broker = SQLiteBroker(tmp_path / "taskq.db", visibility_timeout=300)
    yield broker
    broker.close()


def test_delays_are_native_and_messages_carry_their_eta(broker, queue_name, start_worker):
    ran_at = []

    @taskq.actor(queue_name=queue_name, broker=broker)
    def later():
        ran_at.append(current_millis())

    sent_at = current_millis()
    message = later.send_with_options(delay=300)
    assert message.queue_name == queue_name
    assert message.options["eta"] >= sent_at + 300
    assert broker.get_declared_delay_queues() == set()
    assert broker.queue_stats()[queue_name]["delayed"] == 1
    start_worker(broker)
    wait_for(lambda: ran_at, message="the delayed message to run")
    assert ran_at[0] >= message.options["eta"]


def test_lower_priority_number_is_fetched_first(broker, queue_name, start_worker):
    order = []

    @taskq.actor(queue_name=queue_name, broker=broker, priority=10)
    def routine(i):
        order.append(("routine", i))

    @taskq.actor(queue_name=queue_name, broker=broker, priority=0)
    def urgent(i):
        order.append(("urgent", i))

    for i in range(3):
        routine.send(i)
    for i in range(3):
        urgent.send(i)
    start_worker(broker, worker_threads=1, prefetch=1)
    wait_for(lambda: len(order) == 6, message="6 messages processed")
    assert order == [("urgent", 0), ("urgent", 1), ("urgent", 2)] + [
        ("routine", i) for i in range(3)
    ]


def test_a_long_job_keeps_its_lease_and_runs_once(tmp_path, broker, queue_name, start_worker):
    runs = []

    @taskq.actor(queue_name=queue_name, broker=broker, actor_name="long")
    def long_job():
        runs.append(os.getpid())
        threading.Event().wait(1.5)  # the job's own work: five visibility timeouts

    # A second broker on the same file, as another worker process would be, ready to grab
    # the message if the lease ever lapsed.
    other = SQLiteBroker(tmp_path / "taskq.db", visibility_timeout=300)
    taskq.actor(queue_name=queue_name, broker=other, actor_name="long")(
        lambda: runs.append("other")
    )
    long_job.send()
    start_worker(broker, worker_threads=1)
    wait_for(lambda: runs, message="the job to start")
    start_worker(other, worker_threads=1)  # only now, so it can only get a lapsed lease
    broker.join(queue_name, timeout=10_000)
    assert runs == [os.getpid()]
    other.close()


def test_worker_heartbeats_list_live_consumers(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, broker=broker)
    def idle():
        pass

    assert broker.worker_heartbeats() == []
    worker = start_worker(broker)
    beats = wait_for(broker.worker_heartbeats, message="a heartbeat")
    assert beats[0]["pid"] == os.getpid()
    assert queue_name in beats[0]["queues"]
    worker.stop()
    assert broker.worker_heartbeats() == []


def test_events_table_keeps_only_the_newest(tmp_path, queue_name):
    broker = SQLiteBroker(tmp_path / "taskq.db", max_events=50)
    listener = SQLiteBroker(tmp_path / "taskq.db")
    stream = listener.subscribe_events(timeout=2000)
    for i in range(120):
        broker.publish_event({"event": "enqueued", "seq": i, "queue_name": queue_name})
    assert [e["seq"] for e in broker.recent_events(limit=1000)] == list(range(70, 120))
    assert [e["seq"] for e in broker.recent_events(limit=3)] == [117, 118, 119]
    rows = sqlite3.connect(tmp_path / "taskq.db").execute("SELECT COUNT(*) FROM taskq_events")
    assert rows.fetchone()[0] == 50
    first = next(stream)
    assert first is not None and first["seq"] >= 70
    stream.close()
    broker.close()
    listener.close()


def test_subscribers_in_another_process_see_new_events(tmp_path):
    broker = SQLiteBroker(tmp_path / "taskq.db")
    stream = SQLiteBroker(tmp_path / "taskq.db").subscribe_events(timeout=100)
    assert next(stream) is None
    broker.publish_event({"event": "started", "message_id": "m1"})
    event = wait_for(lambda: next(stream), message="the event")
    assert event == {"event": "started", "message_id": "m1"}
    broker.close()


def test_enqueue_many_is_all_or_nothing(broker, queue_name):
    @taskq.actor(queue_name=queue_name, broker=broker)
    def job(i):
        pass

    stray = taskq.Message(queue_name="undeclared_queue", actor_name="job", args=(0,))
    with pytest.raises(QueueNotFound):
        broker.enqueue_many([job.message(1), stray, job.message(2)])
    assert broker.queue_stats()[queue_name]["ready"] == 0
    broker.enqueue_many([job.message(i) for i in range(10)])
    assert broker.queue_stats()[queue_name]["ready"] == 10


def test_rows_written_by_another_program_are_served(broker, queue_name, start_worker, tmp_path):
    seen = []

    @taskq.actor(queue_name=queue_name, broker=broker)
    def greet(name):
        seen.append(name)

    payload = json.dumps(
        {
            "queue_name": queue_name,
            "actor_name": "greet",
            "args": ["from elsewhere"],
            "kwargs": {},
            "options": {},
            "message_id": "6b1a0c3e-0000-4000-8000-000000000001",
            "message_timestamp": current_millis(),
        }
    )
    with sqlite3.connect(tmp_path / "taskq.db") as foreign:
        foreign.execute(
            "INSERT INTO taskq_messages (queue_name, state, visible_at, enqueued_at, payload)"
            " VALUES (?, 0, 0, 0, ?)",
            (queue_name, payload),
        )
    start_worker(broker)
    wait_for(lambda: seen == ["from elsewhere"], message="the foreign message to run")


def test_flush_all_and_join(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, broker=broker)
    def job(i):
        pass

    for i in range(5):
        job.send(i)
    job.send_with_options(delay=60_000)
    broker.flush_all()
    assert broker.queue_stats()[queue_name] == {"ready": 0, "delayed": 0, "in_flight": 0, "dead": 0}
    for i in range(5):
        job.send(i)
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert broker.queue_stats()[queue_name]["ready"] == 0
