"""`python -m bench.embedded`: taskq's SQLite broker against Huey's ``SqliteHuey``.

The server-free queue a user would otherwise pick, on the same machine with the same workload:
each system's own consumer (``taskq worker bench.apps.tasks -p 1 -t 8`` and ``huey_consumer
bench.apps.huey_tasks.huey -k thread -w 8``, Huey's defaults otherwise) on a fresh database,
tasks that INCR one Redis counter. Reported: drain throughput of a pre-filled queue (from the
spawn, and from the first task done, to the last), and send→start latency of single sends to
an idle consumer with random 20–200 ms gaps. Median of ``--runs`` runs, systems alternating.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .harness import BIN, Setup, WorkerGroup, compile_sources, load_app, redis_client

SYSTEMS = ("huey", "taskq")


def _command(system: str, threads: int) -> list[str]:
    if system == "huey":
        app = "bench.apps.huey_tasks.huey"
        return [str(BIN / "huey_consumer"), app, "-k", "thread", "-w", str(threads), "-n"]
    return [
        sys.executable,
        "-m",
        "taskq",
        "worker",
        "bench.apps.tasks",
        "-p",
        "1",
        "-t",
        str(threads),
    ]


class Run:
    """One system on its own fresh SQLite file and Redis keys."""

    def __init__(self, system: str, threads: int) -> None:
        namespace = f"emb-{system}-{uuid.uuid4().hex[:6]}"
        self.system = system
        self.setup = Setup("taskq", "sqlite", namespace, queue=f"emb_{namespace[-6:]}")
        module = "bench.apps.huey_tasks" if system == "huey" else "bench.apps.tasks"
        self.app = load_app(self.setup, module)
        self.client = redis_client()
        self.group = WorkerGroup(self.setup, processes=1, threads=threads, module=module)
        self.group.command = _command(system, threads)

    def pending(self) -> int:
        if self.system == "huey":
            return int(self.app.huey.pending_count())
        stats = self.app.broker.queue_stats()[self.setup.queue]
        return int(stats["ready"] + stats["in_flight"] + stats["delayed"])

    def prefill(self, total: int) -> None:
        if self.system == "huey":
            for _ in range(total):
                self.app.incr()
        else:
            messages = [self.app.incr.message() for _ in range(total)]
            for i in range(0, total, 1000):
                self.app.broker.enqueue_many(messages[i : i + 1000])
        if self.pending() != total:
            raise RuntimeError(f"{self.system}: {self.pending()} of {total} queued")

    def cleanup(self) -> None:
        self.client.delete(self.app.COUNTER_KEY, self.setup.environ()["BENCH_NS"] + ":latency")
        path = Path(self.setup.environ()["BENCH_SQLITE_PATH"])
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")


def drain(system: str, total: int, threads: int) -> tuple[float, float, float]:
    """(msg/s spawn→last, msg/s first→last, seconds spawn→first) for ``total`` INCR tasks."""
    run = Run(system, threads)
    try:
        run.prefill(total)
        first = None
        spawned = time.perf_counter()
        with run.group:
            deadline = time.monotonic() + 600
            while (count := int(run.client.get(run.app.COUNTER_KEY) or 0)) < total:
                if first is None and count:
                    first = time.perf_counter()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{system}: {count} of {total} done")
                time.sleep(0.005)
            done = time.perf_counter()
        assert first is not None
        return total / (done - spawned), total / (done - first), first - spawned
    finally:
        run.cleanup()


def latency(system: str, samples: int, threads: int) -> list[float]:
    """Send→start milliseconds of ``samples`` single sends to an idle consumer, sorted."""
    run = Run(system, threads)
    key = run.setup.environ()["BENCH_NS"] + ":latency"
    rng = random.Random(7)
    try:
        with run.group:
            run.app.latency(time.time()) if system == "huey" else run.app.latency.send(time.time())
            _wait_for(run, key, 1, 60)
            run.client.delete(key)
            for i in range(samples):
                time.sleep(rng.uniform(0.02, 0.2))
                if system == "huey":
                    run.app.latency(time.time())
                else:
                    run.app.latency.send(time.time())
                _wait_for(run, key, i + 1, 30)
        return sorted(float(v) * 1000 for v in run.client.lrange(key, 0, -1))
    finally:
        run.cleanup()


def _wait_for(run: Run, key: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while run.client.llen(key) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run.system}: no start within {timeout} s")
        time.sleep(0.0005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    compile_sources()
    results: dict[str, dict[str, list[Any]]] = {s: {"drain": [], "latency": []} for s in SYSTEMS}
    for round_number in range(args.runs):
        order = SYSTEMS if round_number % 2 == 0 else tuple(reversed(SYSTEMS))
        for system in order:
            results[system]["drain"].append(drain(system, args.messages, args.threads))
            print(system, "drain", results[system]["drain"][-1], flush=True)
        for system in order:
            results[system]["latency"].append(latency(system, args.samples, args.threads))
            samples = results[system]["latency"][-1]
            print(system, "latency p50", statistics.median(samples), flush=True)
    print(render(results, args))
    return 0


def render(results: dict[str, dict[str, list[Any]]], args: argparse.Namespace) -> str:
    """A markdown table: each figure the median over runs, with taskq/Huey."""

    def med(system: str, pick: Any) -> float:
        return statistics.median(pick(value) for value in results[system][pick.kind])

    def drain_pick(index: int) -> Any:
        def pick(value: Any) -> float:
            return float(value[index])

        pick.kind = "drain"  # type: ignore[attr-defined]
        return pick

    def latency_pick(p: int) -> Any:
        def pick(value: list[float]) -> float:
            return statistics.quantiles(value, n=100, method="inclusive")[p - 1]

        pick.kind = "latency"  # type: ignore[attr-defined]
        return pick

    rows = [
        (f"drain {args.messages:,}, spawn → last", "msg/s", drain_pick(0)),
        (f"drain {args.messages:,}, first done → last", "msg/s", drain_pick(1)),
        ("spawn → first task done", "s", drain_pick(2)),
        ("send→start latency p50, idle consumer", "ms", latency_pick(50)),
        ("send→start latency p99, idle consumer", "ms", latency_pick(99)),
    ]
    lines = [
        "| case | unit | Huey SqliteHuey | taskq SQLite | taskq/Huey |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, unit, pick in rows:
        huey, taskq = med("huey", pick), med("taskq", pick)
        lines.append(f"| {name} | {unit} | {huey:,.2f} | {taskq:,.2f} | {taskq / huey:.2f}× |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
