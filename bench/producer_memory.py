"""Producer and worker memory with a large backlog, per broker (issue 26).

``python -m bench.producer_memory [--brokers redis,rabbitmq,sqlite] [--messages 1000000]
[--worker-seconds 30]`` for each broker, in a queue of its own:

1. a fresh producer process runs ``taskq.group(noop.message(i) for i in range(N)).run()``
   and reports its peak resident memory (``ru_maxrss``) and the memory it had before;
2. ``taskq worker bench.memory_app -p 1 -t 4`` then consumes that backlog for
   ``--worker-seconds``; its worker process's RSS is sampled every second;
3. the queue is deleted.

Run it under ``flock /tmp/taskq-heavy.lock``: a million messages take minutes and a few
hundred MB on the broker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URLS = {"redis": "redis://127.0.0.1:6379/0", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB) since it started.

    Linux's ``VmHWM`` belongs to the process image; ``ru_maxrss`` would also count the peak of
    the process that forked this one (it survives ``exec``), e.g. a large pytest process.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def produce(messages: int) -> dict[str, Any]:
    """In this process: stream a group of ``messages`` and report memory (MB) and time."""
    import taskq
    from bench import memory_app

    before = peak_rss_mb()
    started = time.monotonic()
    taskq.group(memory_app.noop.message(i) for i in range(messages)).run()
    seconds = time.monotonic() - started
    peak = peak_rss_mb()
    memory_app.broker.close()
    return {"before_mb": round(before, 1), "peak_mb": round(peak, 1), "seconds": round(seconds, 1)}


def environment(kind: str, workdir: Path) -> dict[str, str]:
    """The environment naming ``kind``'s broker and a queue no one else uses."""
    token = uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKQ_", "PROMETHEUS_"))}
    env.update(MEM_BROKER=kind, MEM_QUEUE=f"mem_{token}", PYTHONPATH=str(ROOT))
    env.update(MEM_NAMESPACE=f"taskq-mem-{token}", MEM_SQLITE_PATH=str(workdir / "mem.db"))
    env["MEM_URL"] = URLS.get(kind, "")
    env["taskq_prom_port"] = "0"
    return env


def ready(env: dict[str, str]) -> int:
    """Messages ready on the benchmark's queue (asked in a fresh process)."""
    code = (
        "from bench import memory_app as m;"
        "print(m.broker.queue_stats().get(m.noop.queue_name, {}).get('ready', 0));"
        "m.broker.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def run_worker(env: dict[str, str], seconds: float, log: Path) -> dict[str, Any]:
    """Run a worker on the backlog for ``seconds``; sample its worker process's RSS."""
    import psutil

    before = ready(env)
    with log.open("wb") as out:
        master = subprocess.Popen(
            [sys.executable, "-m", "taskq", "worker", "bench.memory_app", "-p", "1", "-t", "4"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    samples: list[float] = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1.0)
            children = psutil.Process(master.pid).children()
            rss = sum(c.memory_info().rss for c in children if c.is_running())
            if rss:
                samples.append(rss / 2**20)
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(60)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
    after = ready(env)
    steady = samples[2:] or samples  # the first seconds are the import and the boot
    return {
        "processed": before - after,
        "rss_first_mb": round(steady[0], 1) if steady else None,
        "rss_max_mb": round(max(steady), 1) if steady else None,
        "rss_last_mb": round(steady[-1], 1) if steady else None,
        "samples": len(samples),
    }


def delete_queue(env: dict[str, str]) -> None:
    """Remove everything the benchmark created on the broker."""
    code = """
from bench import memory_app as m
b, q = m.broker, m.noop.queue_name
if type(b).__name__ == "RabbitmqBroker":
    for name in (q, q + ".DQ", q + ".XQ"):
        b.channel.queue_delete(name)
elif type(b).__name__ == "RedisBroker":
    keys = list(b.client.scan_iter(match=b.namespace + ":*", count=1000))
    for i in range(0, len(keys), 500):
        b.client.delete(*keys[i : i + 500])
b.close()
"""
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=False)


def measure(kind: str, messages: int, worker_seconds: float) -> dict[str, Any]:
    """Producer peak and worker RSS on ``kind`` with ``messages`` queued."""
    with tempfile.TemporaryDirectory(prefix="taskq-mem-") as tmp:
        env = environment(kind, Path(tmp))
        try:
            out = subprocess.run(
                [sys.executable, "-m", "bench.producer_memory", "--produce", str(messages)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            row: dict[str, Any] = {"broker": kind, "messages": messages}
            row.update(json.loads(out.stdout.strip().splitlines()[-1]))
            row["queued"] = ready(env)
            if worker_seconds > 0:
                row.update(run_worker(env, worker_seconds, Path(tmp) / "worker.log"))
            return row
        finally:
            delete_queue(env)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="redis,rabbitmq,sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--worker-seconds", type=float, default=30.0)
    parser.add_argument("--produce", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.produce is not None:
        print(json.dumps(produce(args.produce)))
        return 0
    for kind in args.brokers.split(","):
        with contextlib.suppress(KeyboardInterrupt):
            print(json.dumps(measure(kind, args.messages, args.worker_seconds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
