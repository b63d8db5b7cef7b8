"""An idle Redis worker does not spin, yet wakes for a new message without waiting out its
poll timeout."""

from __future__ import annotations

import statistics
import threading
import time

import psutil

import taskq

from ...helpers import wait_for


def test_idle_worker_uses_almost_no_cpu_and_wakes_at_once(redis_broker, queue_name):
    started = {}
    ready = threading.Event()

    @taskq.actor(queue_name=queue_name)
    def ping(sent_at):
        started[sent_at] = time.monotonic()
        ready.set()

    # a long-ish poll timeout: only a server-side wake-up can start a message quickly
    worker = taskq.Worker(redis_broker, worker_timeout=2000, worker_threads=4)
    worker.start()
    try:
        ping.send(time.monotonic())  # warm up connections
        wait_for(lambda: started, message="warm-up message")
        process = psutil.Process()
        before, wall = process.cpu_times(), time.monotonic()
        time.sleep(3)  # measuring idleness: nothing to wait for
        after, wall = process.cpu_times(), time.monotonic() - wall
        idle_cpu = (after.user + after.system - before.user - before.system) / wall
        print(f"\nidle worker CPU: {idle_cpu * 100:.2f}% of one core over {wall:.1f}s")
        assert idle_cpu < 0.20

        latencies = []
        for _ in range(5):
            ready.clear()
            sent_at = time.monotonic()
            ping.send(sent_at)
            assert ready.wait(10)
            latencies.append((started[sent_at] - sent_at) * 1000)
            wait_for(lambda: redis_broker.queue_stats()[queue_name]["in_flight"] == 0)
        median = statistics.median(latencies)
        print(f"send-to-start latency on an idle worker: median {median:.1f} ms {latencies}")
        assert median < 1000  # well under the 2 s poll timeout: woken, not polled
    finally:
        worker.stop(timeout=5000)
