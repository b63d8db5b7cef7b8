"""Entry points of the processes the SQLite tests start (importable, so ``spawn`` works)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import taskq
from taskq.brokers.sqlite import SQLiteBroker


def _declare_record(broker: SQLiteBroker, queue_name: str, sink: Any) -> taskq.Actor[..., Any]:
    @taskq.actor(queue_name=queue_name, broker=broker, actor_name="record")
    def record(i: int) -> None:
        sink(i)

    return record


def produce(path: str, queue_name: str, first: int, count: int) -> None:
    """Enqueue ids ``first .. first+count-1``: half one by one, half in batches of 100."""
    broker = SQLiteBroker(path)
    record = _declare_record(broker, queue_name, lambda i: None)
    ids = list(range(first, first + count))
    half = len(ids) // 2
    for i in ids[:half]:
        record.send(i)
    for start in range(half, len(ids), 100):
        broker.enqueue_many([record.message(i) for i in ids[start : start + 100]])
    broker.close()


def consume(path: str, queue_name: str, out_dir: str, stop: Any) -> None:
    """Run a Worker until ``stop`` is set, then write the ids it processed to ``out_dir``."""
    broker = SQLiteBroker(path)
    seen: list[int] = []
    _declare_record(broker, queue_name, seen.append)
    worker = taskq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    stop.wait()
    worker.stop(timeout=10_000)
    Path(out_dir, f"{os.getpid()}.json").write_text(json.dumps(seen))
    broker.close()


def hold_messages(path: str, queue_name: str, visibility_timeout: int) -> None:
    """Run a Worker whose actor never returns: its messages stay leased until it is killed."""
    broker = SQLiteBroker(path, visibility_timeout=visibility_timeout)
    forever = threading.Event()
    _declare_record(broker, queue_name, lambda i: forever.wait())
    worker = taskq.Worker(broker, worker_threads=2, worker_timeout=100, prefetch=4)
    worker.start()
    forever.wait()


def produce_slowly_with_results(path: str, queue_name: str, count: int, started: Any) -> None:
    """Hold a broker *and* a result backend on ``path`` (two handles on one file in one
    process), then enqueue ``count`` messages 20 ms apart while other processes come and go."""
    import time

    from taskq.results.backends.sqlite import SQLiteBackend

    broker = SQLiteBroker(path)
    backend = SQLiteBackend(path)
    broker.declare_queue(queue_name)
    started.set()
    for i in range(count):
        broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="record", args=(i,)))
        time.sleep(0.02)  # a producer that sends now and then, as the bug report's did
    backend.close()
    broker.close()


def produce_and_exit(path: str, queue_name: str, first: int, count: int) -> None:
    """A short-lived producer: open, send ``count`` messages, close, exit."""
    broker = SQLiteBroker(path)
    broker.declare_queue(queue_name)
    for i in range(first, first + count):
        broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="record", args=(i,)))
    broker.close()
