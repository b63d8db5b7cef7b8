"""`python -m bench.scaling`: how throughput and memory grow, taskq against Dramatiq.

``scaling``: the cold-start drain (:func:`bench.coldstart.cold_start`, INCR tasks, spawn to
the last one done) for every ``-p`` × ``-t`` given. ``memory``: a ``-p 2 -t 8`` group started
on a backlog of N slow (2 s) tasks; the group's RSS (master and children) once it has run for
``--settle`` seconds, and what the backlog costs the broker (Redis ``used_memory`` growth,
RabbitMQ's queue ``memory``, the SQLite file with its WAL). The backlog barely moves while
measured, so a worker that buffered it would show it. One run per cell unless ``--runs``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from .coldstart import TASKS, cold_start, delete_rabbitmq_queues, prefill
from .harness import (
    Setup,
    WorkerGroup,
    clear_redis,
    compile_sources,
    load_app,
    purge,
    redis_client,
    wait_filled,
)


def _setup(framework: str, broker: str) -> Setup:
    namespace = f"scale-{framework}-{uuid.uuid4().hex[:6]}"
    return Setup(framework, broker, namespace, queue=f"scale_{namespace[-6:]}")


def scaling(total: int, runs: int, shapes: list[tuple[int, int]]) -> str:
    """The markdown table of cold-start drain msg/s for each (processes, threads)."""
    lines = [
        "| -p | -t | Dramatiq msg/s | taskq msg/s | taskq/Dramatiq |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for processes, threads in shapes:
        values: dict[str, list[float]] = {"dramatiq": [], "taskq": []}
        for round_number in range(runs):
            order = ("dramatiq", "taskq") if round_number % 2 == 0 else ("taskq", "dramatiq")
            for framework in order:
                setup = _setup(framework, "redis")
                try:
                    rate, _ = cold_start(total, processes, threads)(setup)
                finally:
                    clear_redis(setup.namespace)
                values[framework].append(rate)
                print(f"-p {processes} -t {threads} {framework}: {rate:,.0f}/s", flush=True)
        d, t = statistics.median(values["dramatiq"]), statistics.median(values["taskq"])
        lines.append(f"| {processes} | {threads} | {d:,.0f} | {t:,.0f} | {t / d:.2f}× |")
    return "\n".join(lines)


def broker_bytes(setup: Setup, app: Any) -> int:
    """What the broker holds for ``setup``'s queue, in bytes."""
    if setup.broker == "redis":
        return int(redis_client().info("memory")["used_memory"])
    if setup.broker == "rabbitmq":
        out = subprocess.run(
            ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name", "memory"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0] == setup.queue:
                return int(fields[1])
        return 0
    path = setup.environ()["BENCH_SQLITE_PATH"]
    return sum(
        os.path.getsize(f"{path}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{path}{suffix}")
    )


def memory(framework: str, broker: str, backlog: int, settle: float) -> tuple[float, float]:
    """(group RSS in MiB, broker bytes per waiting message) with ``backlog`` messages."""
    setup = _setup(framework, broker)
    app = load_app(setup, TASKS)
    try:
        purge(setup, app)
        before = broker_bytes(setup, app) if broker == "redis" else 0
        prefill(setup, app, backlog, actor="hold")
        wait_filled(setup, app, backlog, timeout=600)
        held = broker_bytes(setup, app) - before
        if broker == "rabbitmq":
            app.broker.close()
        with WorkerGroup(setup, processes=2, threads=8, module=TASKS) as group:
            time.sleep(settle)
            rss = sum(p.memory_info().rss for p in group.all_processes()) / 2**20
            if group.process is not None:  # no shutdown waiting for running 2 s tasks
                os.killpg(group.process.pid, 9)
                group.process.wait(10)
        return rss, held / backlog
    finally:
        if broker == "rabbitmq":
            delete_rabbitmq_queues(setup.queue)
        clear_redis(setup.namespace)
        with contextlib.suppress(FileNotFoundError):
            for suffix in ("", "-wal", "-shm"):
                os.unlink(setup.environ()["BENCH_SQLITE_PATH"] + suffix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    parser.add_argument("what", choices=("scaling", "memory"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--shapes", default="1x1,1x8,1x32,2x1,2x8,2x32")
    parser.add_argument("--backlogs", default="1000,100000,1000000")
    parser.add_argument("--brokers", default="redis,rabbitmq,sqlite")
    parser.add_argument("--frameworks", default="dramatiq,taskq")
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args(argv)
    compile_sources()
    if args.what == "scaling":
        shapes = [tuple(int(n) for n in s.split("x")) for s in args.shapes.split(",")]
        print(scaling(args.messages, args.runs, shapes))  # type: ignore[arg-type]
        return 0
    lines = [
        "| broker | waiting | framework | worker group RSS MiB | broker bytes/message |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for broker in args.brokers.split(","):
        for backlog in (int(n) for n in args.backlogs.split(",")):
            for framework in args.frameworks.split(","):
                if broker == "sqlite" and framework != "taskq":
                    continue
                rss, per_message = memory(framework, broker, backlog, args.settle)
                row = f"| {broker} | {backlog:,} | {framework} | {rss:,.1f} | {per_message:,.0f} |"
                print(row, flush=True)
                lines.append(row)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
