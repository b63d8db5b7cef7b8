"""Many processes on one SQLite file: nothing lost, and a killed worker's messages come back."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

import taskq
from taskq.brokers.sqlite import SQLiteBroker

from ...helpers import wait_for
from . import procs

spawn = multiprocessing.get_context("spawn")


def _pending(broker: SQLiteBroker, queue_name: str) -> int:
    stats = broker.queue_stats().get(queue_name, {})
    return sum(stats.get(key, 0) for key in ("ready", "delayed", "in_flight"))


@pytest.mark.slow
def test_four_consumers_and_two_producers_process_every_message(tmp_path, queue_name):
    path = str(tmp_path / "taskq.db")
    broker = SQLiteBroker(path)
    broker.declare_queue(queue_name)
    stop = spawn.Event()
    consumers = [
        spawn.Process(target=procs.consume, args=(path, queue_name, str(tmp_path), stop))
        for _ in range(4)
    ]
    producers = [
        spawn.Process(target=procs.produce, args=(path, queue_name, first, 5000))
        for first in (0, 5000)
    ]
    for process in consumers + producers:
        process.start()
    try:
        for process in producers:
            process.join(120)
            assert process.exitcode == 0, "a producer failed"
        wait_for(
            lambda: _pending(broker, queue_name) == 0,
            timeout=120,
            interval=0.2,
            message="the queue to drain",
        )
    finally:
        stop.set()
        for process in consumers:
            process.join(60)
    assert [p.exitcode for p in consumers] == [0, 0, 0, 0]
    seen: list[int] = []
    for output in tmp_path.glob("*.json"):
        seen.extend(json.loads(output.read_text()))
    assert set(seen) == set(range(10_000))
    assert broker.queue_stats()[queue_name]["dead"] == 0
    broker.close()


def test_messages_of_a_killed_worker_are_redelivered(tmp_path, queue_name, start_worker):
    path = str(tmp_path / "taskq.db")
    holder = spawn.Process(target=procs.hold_messages, args=(path, queue_name, 500))
    broker = SQLiteBroker(path, visibility_timeout=500)
    done: list[int] = []

    @taskq.actor(queue_name=queue_name, broker=broker, actor_name="record")
    def record(i):
        done.append(i)

    for i in range(5):
        record.send(i)
    holder.start()
    try:
        wait_for(
            lambda: broker.queue_stats()[queue_name]["in_flight"] == 4,
            timeout=30,
            message="the doomed worker to lease 4 messages (its prefetch)",
        )
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    start_worker(broker)
    wait_for(lambda: sorted(done) == list(range(5)), timeout=30, message="all 5 redelivered")
    wait_for(lambda: _pending(broker, queue_name) == 0, message="every message acked")
    broker.close()
