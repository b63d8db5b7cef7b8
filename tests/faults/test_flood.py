"""A flood: 100,000 messages enqueued (enqueue_many batches) far faster than a slow worker
processes them. The worker's memory stays bounded because it never holds more than its
prefetch; nothing is lost when it stops."""

from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path

import pytest
import redis

from taskq.worker.prefetch import BUDGET_MS
from tests.helpers import wait_for

from .conftest import make_setup, teardown
from .support import APP, WorkerCLI, describe, rss_mb

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MESSAGES = 100_000
BATCH = 5_000
THREADS = 2
JOB_MS = 20
#: What the adaptive window holds for these jobs: about BUDGET_MS of work per thread.
PREFETCH = math.ceil(THREADS * BUDGET_MS / JOB_MS)
#: Generous on purpose: holding the flood in memory would take hundreds of MB.
MAX_GROWTH_MB = 60


def test_flood_keeps_worker_memory_bounded(tmp_path: Path) -> None:
    setup = make_setup("redis", tmp_path)
    client = redis.Redis.from_url(setup.env["FAULT_BROKER_URL"])
    namespace = setup.env["FAULT_NAMESPACE"]
    cli = WorkerCLI(setup.worker_env(), tmp_path / "worker.log", APP, "-p", "1", "-t", "2")
    try:
        (child,) = cli.wait_children(1)
        slow = setup.actors["fault_slow"]
        wait_for(lambda: "Worker process started" in cli.output(), 60, message="the worker")
        baseline = rss_mb(child)
        samples: list[float] = []
        most_unacked = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal most_unacked
            while not stop.is_set():
                samples.append(rss_mb(child))
                keys = list(client.scan_iter(match=f"{namespace}:__acks__.*", count=1000))
                most_unacked = max([most_unacked, *(client.scard(key) for key in keys)])
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        for i in range(0, MESSAGES, BATCH):
            setup.broker.enqueue_many(
                slow.message(f"f{n:06d}", JOB_MS / 1000) for n in range(i, min(i + BATCH, MESSAGES))
            )
        enqueue_seconds = time.monotonic() - started
        after_enqueue = setup.counts.processed()
        wait_for(lambda: setup.counts.processed() >= after_enqueue + 50, 60, message="progress")
        stop.set()
        sampler.join(10)
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0

        processed = setup.counts.processed()
        stats = setup.broker.queue_stats()[setup.queue_name]
        assert processed < MESSAGES // 2, "the worker was not slower than the producer"
        assert stats["ready"] + processed == MESSAGES, (stats, processed)
        assert stats["in_flight"] == 0 and stats["dead"] == 0, stats
        assert not setup.counts.duplicates()
        assert most_unacked <= PREFETCH
        growth = max(samples) - baseline
        print(
            "\n[faults] flood redis: "
            + describe(
                {
                    "messages": MESSAGES,
                    "enqueue_s": round(enqueue_seconds, 1),
                    "processed_meanwhile": processed,
                    "rss_baseline_mb": round(baseline, 1),
                    "rss_max_mb": round(max(samples), 1),
                    "rss_growth_mb": round(growth, 1),
                    "most_unacked": most_unacked,
                    "samples": len(samples),
                }
            )
        )
        assert growth < MAX_GROWTH_MB
    finally:
        cli.kill_all()
        client.close()
        teardown(setup)
