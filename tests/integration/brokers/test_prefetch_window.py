"""On every broker, a worker fed short jobs holds more of them, and long jobs narrow it again."""

from __future__ import annotations

import threading
import time

import taskq
from taskq.worker.prefetch import MAX_PER_THREAD
from tests.helpers import wait_for

THREADS = 2


def test_short_jobs_widen_what_a_worker_holds_and_long_ones_narrow_it(
    any_broker: taskq.Broker, queue_name: str, start_worker
) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    @taskq.actor(queue_name=queue_name)
    def quick() -> None:
        pass

    @taskq.actor(queue_name=queue_name)
    def blocker() -> None:
        started.release()
        release.wait(30)

    @taskq.actor(queue_name=queue_name)
    def slow() -> None:
        time.sleep(0.12)

    worker = start_worker(any_broker, worker_threads=THREADS)
    window = wait_for(lambda: worker.consumers.get(queue_name), message="the consumer").window
    assert window.size == 2 * THREADS

    def widened() -> bool:
        taskq.group(quick.message() for _ in range(50)).run()
        return window.size == MAX_PER_THREAD * THREADS

    wait_for(widened, timeout=30, interval=0.05, message="the window to widen")
    for _ in range(MAX_PER_THREAD * THREADS + 16):
        blocker.send()
    # Both threads busy, the rest of the window waits in the worker for a free thread.
    wait_for(
        lambda: worker.work_queue.qsize() == MAX_PER_THREAD * THREADS - THREADS, message="held jobs"
    )

    release.set()
    for _ in range(12):
        slow.send()
    # 120 ms each: two threads need only 2 × 100 / 120 → at least 2 per thread (after a second).
    wait_for(lambda: window.size == 2 * THREADS, timeout=30, message="the window to narrow")
