"""The queue between a worker's consumer threads and its worker threads: priority order, and
wake-ups only where a thread would otherwise sleep with work waiting."""

from __future__ import annotations

import queue
import threading

import pytest

from taskq.worker.work_queue import WorkQueue
from tests.helpers import wait_for


def sleeper(work_queue: WorkQueue, got: list[object]) -> threading.Thread:
    """A thread blocked in get() until an item (or a wake-up) comes; what it got is appended."""
    thread = threading.Thread(target=lambda: got.append(work_queue.get(timeout=10)), daemon=True)
    thread.start()
    wait_for(lambda: work_queue._sleepers == 1, timeout=5, message="the thread to sleep")
    return thread


def test_items_come_out_lowest_priority_then_first_put():
    work_queue = WorkQueue()
    for item in [(5, 0, "late"), (1, 1, "urgent"), (5, 2, "later")]:
        work_queue.put(item)
    assert [work_queue.get(timeout=1)[2] for _ in range(3)] == ["urgent", "late", "later"]


def test_a_put_wakes_a_sleeping_thread():
    work_queue, got = WorkQueue(), []
    thread = sleeper(work_queue, got)
    work_queue.put((0, 0, "job"))
    thread.join(5)
    assert got == [(0, 0, "job")]


def test_items_put_without_waking_wait_for_wake_sleepers():
    work_queue, got = WorkQueue(), []
    thread = sleeper(work_queue, got)
    work_queue.put((0, 0, "first"), wake=False)
    work_queue.put((0, 1, "second"), wake=False)
    thread.join(0.2)
    assert thread.is_alive() and got == []  # still asleep: nobody was woken
    work_queue.wake_sleepers()
    thread.join(5)
    assert got == [(0, 0, "first")]
    assert work_queue.get(timeout=1) == (0, 1, "second")  # a running thread takes it directly


def test_a_thread_that_is_running_takes_waiting_items_without_a_wake_up():
    work_queue = WorkQueue()
    work_queue.put((0, 0, "job"), wake=False)
    assert work_queue.get(timeout=0.01) == (0, 0, "job")
    with pytest.raises(queue.Empty):
        work_queue.get(timeout=0.01)


def test_one_sleeper_gets_one_wake_up_however_many_items_come():
    work_queue, got = WorkQueue(), []
    thread = sleeper(work_queue, got)
    for n in range(5):
        work_queue.put((0, n, "job"))
    thread.join(5)
    assert work_queue._tokens.qsize() == 0  # no wake-up left over for a thread that sleeps next
    assert work_queue.qsize() == 4


def test_wake_releases_a_sleeper_with_none():
    work_queue, got = WorkQueue(), []
    thread = sleeper(work_queue, got)
    work_queue.wake(1)
    thread.join(5)
    assert got == [None]
