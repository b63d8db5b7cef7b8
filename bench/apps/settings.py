"""Settings shared by both benchmark apps, read from the environment the harness sets."""

from __future__ import annotations

import os

BROKER = os.environ.get("BENCH_BROKER", "redis")
NAMESPACE = os.environ.get("BENCH_NS", "bench")
QUEUE = os.environ.get("BENCH_QUEUE", "bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SQLITE_PATH = os.environ.get("BENCH_SQLITE_PATH", "/tmp/taskq-bench.db")
#: Redis list where the latency actor records (start - sent) in seconds.
LATENCY_KEY = f"{NAMESPACE}:latency"


def record_latency(client: object, sent_at: float, now: float) -> None:
    """Append one send→start sample to the latency list."""
    client.rpush(LATENCY_KEY, now - sent_at)  # type: ignore[attr-defined]
