"""Dramatiq's helpers in taskq.common: getenv_int, iter_queue, join_queue, join_all."""

from __future__ import annotations

import queue
import threading

import pytest

from taskq.common import getenv_int, iter_queue, join_all, join_queue
from taskq.errors import QueueJoinTimeout


def test_getenv_int_reads_an_optional_integer(monkeypatch):
    monkeypatch.delenv("TASKQ_TEST_INT", raising=False)
    assert getenv_int("TASKQ_TEST_INT") is None
    monkeypatch.setenv("TASKQ_TEST_INT", "42")
    assert getenv_int("TASKQ_TEST_INT") == 42
    monkeypatch.setenv("TASKQ_TEST_INT", "forty")
    with pytest.raises(ValueError, match="TASKQ_TEST_INT"):
        getenv_int("TASKQ_TEST_INT")


def test_iter_queue_drains_without_blocking():
    items: queue.Queue[int] = queue.Queue()
    for i in range(3):
        items.put(i)
    assert list(iter_queue(items)) == [0, 1, 2]
    assert list(iter_queue(items)) == []


def test_join_queue_waits_for_task_done_or_times_out():
    items: queue.Queue[int] = queue.Queue()
    items.put(1)
    with pytest.raises(QueueJoinTimeout):
        join_queue(items, timeout=0.05)
    items.get()
    threading.Timer(0.05, items.task_done).start()
    join_queue(items, timeout=5)
    assert items.unfinished_tasks == 0


def test_join_all_shares_one_timeout():
    release = threading.Event()
    threads = [threading.Thread(target=release.wait, args=(5,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    join_all(threads, 100)
    assert all(thread.is_alive() for thread in threads)
    release.set()
    join_all(threads, 5_000)
    assert not any(thread.is_alive() for thread in threads)
