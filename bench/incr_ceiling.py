"""`python -m bench.incr_ceiling`: the cold-start workload without any task queue.

Two forked processes, each with N threads that do nothing but ``INCR`` one Redis key, as the
cold-start drain's actor does. No framework can drain that workload faster than this, so it
shows how much of a drain is the actor's own cost, and how that cost grows with the number of
threads per process that share one interpreter lock.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

import redis

from .apps import settings


def incr_rate(threads: int, per_process: int, processes: int = 2) -> float:
    """INCRs per second of ``processes`` forked processes × ``threads`` threads."""
    key = f"incr-ceiling-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            try:
                _incr_in_threads(key, threads, per_process)
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    client = redis.Redis.from_url(settings.REDIS_URL)
    done = int(client.get(key) or 0)
    client.delete(key)
    return done / elapsed


def _incr_in_threads(key: str, threads: int, total: int) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)

    def work(count: int) -> None:
        for _ in range(count):
            client.incr(key)

    workers = [threading.Thread(target=work, args=(total // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.incr_ceiling", description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 3, 4, 8])
    parser.add_argument("--messages", type=int, default=100_000, help="INCRs in all")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| threads per process | INCR/s, 2 processes (median) | runs |")
    print("| ---: | ---: | --- |")
    for threads in args.threads:
        rates = sorted(incr_rate(threads, args.messages // 2) for _ in range(args.runs))
        runs = " / ".join(f"{r:,.0f}" for r in rates)
        print(f"| {threads} | {rates[len(rates) // 2]:,.0f} | {runs} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
