"""`python -m bench.cpu_split`: where the CPU of one cold-start drain goes, per message.

Runs the cold-start drain of :mod:`bench.coldstart` once (spawn a worker command on a pre-filled
queue of INCR tasks) and reports, divided by the number of messages: the machine's busy CPU,
the broker servers' CPU (``redis-server``, RabbitMQ's ``beam.smp``) and the worker group's
(user and system). With ``--threads``, it also samples each thread of every worker process for
three seconds mid-drain: which thread (the consumer, the worker threads) spends what.

When the machine's busy CPU per message times the drain rate is close to the cores it has,
only doing less per message makes the drain faster.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from typing import Any

import psutil

from . import coldstart
from .harness import Setup, clear_redis, redis_client

SERVERS = {"redis": "redis-server", "rabbitmq": "beam"}


def _cpu(processes: list[psutil.Process]) -> tuple[float, float]:
    user = system = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        user, system = user + times.user, system + times.system
    return user, system


def _servers() -> dict[str, list[psutil.Process]]:
    found: dict[str, list[psutil.Process]] = {name: [] for name in SERVERS}
    for process in psutil.process_iter(["name"]):
        for name, marker in SERVERS.items():
            if marker in (process.info["name"] or ""):
                found[name].append(process)
    return found


def _thread_times(pid: int) -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_split", description=__doc__)
    parser.add_argument("--framework", choices=("taskq", "dramatiq"), default="taskq")
    parser.add_argument("--broker", choices=("redis", "rabbitmq", "sqlite"), default="rabbitmq")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--threads", action="store_true", help="also split by worker thread")
    args = parser.parse_args(argv)

    namespace = f"cpu-{uuid.uuid4().hex[:6]}"
    setup = Setup(args.framework, args.broker, namespace, queue=f"cpu_{namespace[-6:]}")
    servers = _servers()
    marks: dict[str, Any] = {}
    counter = f"{namespace}:counter"

    class MeasuredGroup(coldstart.WorkerGroup):
        def __enter__(self) -> Any:
            marks["servers"] = {name: _cpu(found) for name, found in servers.items()}
            marks["machine"] = psutil.cpu_times()
            entered = super().__enter__()
            assert self.process is not None
            self.root = psutil.Process(self.process.pid)
            if args.threads:
                threading.Thread(target=self.sample_threads, daemon=True).start()
            return entered

        def sample_threads(self) -> None:
            time.sleep(2)
            workers = [p for p in self.root.children(recursive=True) if p.num_threads() > 2]
            client = redis_client()
            before_count = int(client.get(counter) or 0)
            before = {p.pid: _thread_times(p.pid) for p in workers}
            time.sleep(3)
            done = int(client.get(counter) or 0) - before_count
            lines = []
            for process in workers:
                after = _thread_times(process.pid)
                spent = sorted((after[t] - before[process.pid].get(t, 0.0), t) for t in after)[::-1]
                shown = ", ".join(f"{1e6 * s / max(done, 1):.1f}" for s, _ in spent if s > 0)
                lines.append(f"  process {process.pid}: µs per message, by thread: {shown}")
            marks["threads"] = lines

        def __exit__(self, *exc: object) -> Any:
            marks["servers_after"] = {name: _cpu(found) for name, found in servers.items()}
            marks["machine_after"] = psutil.cpu_times()
            tree = [self.root, *self.root.children(recursive=True)]
            marks["workers"] = _cpu(tree)
            return super().__exit__(*exc)

    coldstart.WorkerGroup = MeasuredGroup  # type: ignore[misc]
    rate, _ = coldstart.cold_start(args.messages)(setup)
    clear_redis(namespace)
    per = 1e6 / args.messages
    before, after = marks["machine"], marks["machine_after"]
    busy = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "softirq"))
    idle = after.idle - before.idle
    print(f"{args.framework} on {args.broker}, {args.messages:,} messages: {rate:,.0f}/s")
    print(f"  machine busy {busy * per:.0f} µs per message (idle {idle:.2f} s in all)")
    for name in SERVERS:
        user = marks["servers_after"][name][0] - marks["servers"][name][0]
        system = marks["servers_after"][name][1] - marks["servers"][name][1]
        print(f"  {SERVERS[name]}: {(user + system) * per:.1f} µs per message")
    user, system = marks["workers"]
    print(f"  worker group: {(user + system) * per:.1f} µs per message (system {system * per:.1f})")
    for line in marks.get("threads", []):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
