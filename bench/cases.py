"""The benchmark cases. Each returns one number for one framework; the runner alternates."""

from __future__ import annotations

import contextlib
import importlib
import operator
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .coldstart import cold_start, import_cost
from .harness import (
    Setup,
    WorkerGroup,
    latency_key,
    load_app,
    purge,
    redis_client,
    wait_drained,
    wait_filled,
    wait_ready,
)


@dataclass(frozen=True)
class Case:
    """A measured quantity for one framework on one broker: ``pick(run(setup))``.

    Cases built on the same ``run`` (the p50 and p99 of one latency sampling, the CPU and RSS
    of one idle group) share its runs: :func:`bench.__main__.measure` runs it once per round.
    """

    name: str
    unit: str
    higher_is_better: bool
    brokers: tuple[str, ...]
    run: Callable[[Setup], Any]
    taskq_only: bool = False
    #: Issue 10's target per broker: "≥2×"/"≤1×" (taskq/Dramatiq) or "≤5 ms" (taskq's value).
    #: Brokers not named must simply do better than Dramatiq.
    targets: dict[str, str] | None = None
    #: This case's value out of what ``run`` returns (by default, that is the value).
    pick: Callable[[Any], float] = float

    def target(self, broker: str) -> str:
        """The target this case has on ``broker``."""
        default = "≥1×" if self.higher_is_better else "≤1×"
        return (self.targets or {}).get(broker, default)


def meets(target: str, ratio: float, value: float) -> bool:
    """Whether a result meets ``target`` (see :attr:`Case.targets`); unrounded values."""
    comparison, bound_text = target[0], target[1:]
    if bound_text.endswith("×"):
        measured, bound = ratio, float(bound_text[:-1])
    else:
        measured, bound = value, float(bound_text.split()[0])
    return measured >= bound if comparison == "≥" else measured <= bound


def _prefill(app: Any, messages: list[Any]) -> None:
    broker = app.broker
    if hasattr(broker, "enqueue_many"):
        for i in range(0, len(messages), 1000):
            broker.enqueue_many(messages[i : i + 1000])
    else:
        for message in messages:
            broker.enqueue(message)


def throughput(
    total: int, *, sleep_ms: float = 0, threads: int = 8, gevent: bool = False, processes: int = 2
) -> Callable[[Setup], float]:
    """Messages/s draining a pre-filled queue with ``processes`` x ``threads`` workers."""

    def run(setup: Setup) -> float:
        app = load_app(setup)
        purge(setup, app)
        if sleep_ms:
            messages = [app.sleep_ms.message(sleep_ms) for _ in range(total)]
        else:
            messages = [app.noop.message() for _ in range(total)]
        _prefill(app, messages)
        wait_filled(setup, app, total)
        with WorkerGroup(setup, processes=processes, threads=threads, gevent=gevent):
            seconds = wait_drained(setup, app, total)
        # RabbitMQ shows only ready messages: when none is left, the workers may still hold
        # up to a full prefetch window each. Count only messages certainly done by then.
        done = total - max_held(setup, processes, threads) if setup.broker == "rabbitmq" else total
        return done / seconds

    return run


def max_held(setup: Setup, processes: int, threads: int) -> int:
    """The most unacked messages a worker group of ``setup.framework`` can hold at once."""
    if setup.framework == "dramatiq":
        return processes * threads * 2  # Dramatiq's prefetch: 2 × worker threads
    # bench.compare_revisions also runs these cases on a taskq from before issue 24's move of
    # the prefetch window into taskq.worker.
    for module in ("taskq.worker.prefetch", "taskq.prefetch"):
        with contextlib.suppress(ModuleNotFoundError):
            per_thread: int = importlib.import_module(module).MAX_PER_THREAD
            return processes * threads * per_thread
    raise ModuleNotFoundError("taskq's prefetch window module")


def enqueue_single(total: int) -> Callable[[Setup], float]:
    """Messages/s sent one ``send()`` at a time from one thread."""

    def run(setup: Setup) -> float:
        app = load_app(setup)
        purge(setup, app)
        start = time.perf_counter()
        for _ in range(total):
            app.noop.send()
        elapsed = time.perf_counter() - start
        purge(setup, app)
        return total / elapsed

    return run


def enqueue_batched(total: int) -> Callable[[Setup], float]:
    """Messages/s sent with ``group(...).run()`` (taskq batches it into one round trip per
    chunk; Dramatiq's group sends one by one)."""

    def run(setup: Setup) -> float:
        app = load_app(setup)
        purge(setup, app)
        messages = [app.noop.message() for _ in range(total)]
        start = time.perf_counter()
        for i in range(0, total, 1000):
            app.fw.group(messages[i : i + 1000]).run()
        elapsed = time.perf_counter() - start
        purge(setup, app)
        return total / elapsed

    return run


def send_to_start_latency(samples: int) -> Callable[[Setup], list[float]]:
    """Milliseconds from ``send`` to the actor starting on an idle worker (random idle gaps),
    one per sample, sorted."""

    def run(setup: Setup) -> list[float]:
        app = load_app(setup)
        purge(setup, app)
        client = redis_client()
        rng = random.Random(7)
        with WorkerGroup(setup, processes=1, threads=8):
            wait_ready(setup, app)
            for i in range(samples):
                time.sleep(rng.uniform(0.02, 0.2))  # let the worker go idle
                app.latency.send(time.time())
                deadline = time.monotonic() + 10
                while client.llen(latency_key(setup)) <= i and time.monotonic() < deadline:
                    time.sleep(0.0005)
            return sorted(float(v) * 1000 for v in client.lrange(latency_key(setup), 0, -1))

    return run


def percentile(p: int) -> Callable[[list[float]], float]:
    """The ``p``-th percentile of a list of samples."""

    def pick(values: list[float]) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1]

    return pick


def idle_cost(seconds: float) -> Callable[[Setup], tuple[float, float]]:
    """Idle CPU (% of one core) of a `-p 2 -t 8` group over ``seconds``, and its RSS (MiB)."""

    def run(setup: Setup) -> tuple[float, float]:
        app = load_app(setup)
        purge(setup, app)
        with WorkerGroup(setup, processes=2, threads=8) as group:
            wait_ready(setup, app)
            time.sleep(3)  # let start-up work finish before measuring the idle state
            processes = group.all_processes()
            rss = sum(p.memory_info().rss for p in processes) / 2**20
            before = _thread_cpu(processes)
            start = time.monotonic()
            time.sleep(seconds)
            after = _thread_cpu(processes)
            used = sum(ns - before.get(thread, 0) for thread, ns in after.items()) / 1e9
            return used / (time.monotonic() - start) * 100, rss

    return run


def _thread_cpu(processes: list[psutil.Process]) -> dict[tuple[int, str], int]:
    """Nanoseconds each thread of ``processes`` has run, from the scheduler's own accounting
    (``/proc/PID/task/TID/schedstat``). ``cpu_times()`` counts whole clock ticks, too coarse
    for an idle group: its 30 s totals are a few dozen ticks, and a few ticks more or less
    swing the ratio by 10%. Threads gone before the second look are not counted."""
    times: dict[tuple[int, str], int] = {}
    for process in processes:
        tasks = Path(f"/proc/{process.pid}/task")
        try:
            threads = list(tasks.iterdir())
        except OSError:
            continue
        for thread in threads:
            with contextlib.suppress(OSError, ValueError, IndexError):
                times[(process.pid, thread.name)] = int(
                    (thread / "schedstat").read_text().split()[0]
                )
    return times


def results_round_trip(samples: int) -> Callable[[Setup], float]:
    """Round trips/s of ``send`` then ``get_result(block=True)``, one at a time."""

    def run(setup: Setup) -> float:
        app = load_app(setup)
        purge(setup, app)
        with WorkerGroup(setup, processes=1, threads=8):
            wait_ready(setup, app)
            start = time.perf_counter()
            for i in range(samples):
                assert app.add.send(i, 1).get_result(block=True, timeout=10_000) == i + 1
            return samples / (time.perf_counter() - start)

    return run


def all_cases(quick: bool, idle_seconds: float) -> list[Case]:
    """Every case, sized for a full run or (``quick``) a smoke run."""
    n = 2_000 if quick else 20_000
    io_n = 1_000 if quick else 5_000
    gevent_n = 500 if quick else 2_000
    samples = 30 if quick else 100
    latency = send_to_start_latency(60 if quick else 300)
    idle = idle_cost(idle_seconds)
    both = ("redis", "rabbitmq")
    small_burst = cold_start(2_000 if quick else 20_000)
    return [
        Case(
            f"cold-start drain {'2k' if quick else '20k'}, spawn → last INCR, -p 2 -t 8",
            "msg/s",
            True,
            both,
            small_burst,
            targets={"redis": "≥2×", "rabbitmq": "≥2×"},
            pick=operator.itemgetter(0),
        ),
        Case(
            "cold-start spawn → first completion",
            "s",
            False,
            both,
            small_burst,
            pick=operator.itemgetter(1),
        ),
        Case(
            f"cold-start drain {'10k' if quick else '100k'}, spawn → last INCR, -p 2 -t 8",
            "msg/s",
            True,
            both,
            cold_start(10_000 if quick else 100_000),
            targets={"redis": "≥3×", "rabbitmq": "≥3×"},
            pick=operator.itemgetter(0),
        ),
        Case("import cost: `import <package>`", "ms", False, ("any",), import_cost("package")),
        Case(
            "import cost: worker path (cli, worker, Redis broker)",
            "ms",
            False,
            ("any",),
            import_cost("worker path"),
        ),
        Case(
            "no-op throughput, 20k, -p 2 -t 8",
            "msg/s",
            True,
            both,
            throughput(n),
            targets={"redis": "≥2×", "rabbitmq": "≥2×"},
        ),
        Case("no-op throughput, 20k, -p 2 -t 8", "msg/s", True, ("sqlite",), throughput(n), True),
        Case(
            "1 ms sleep throughput, 20k, -p 2 -t 8",
            "msg/s",
            True,
            both,
            throughput(n, sleep_ms=1),
            targets={"redis": "≥1.5×", "rabbitmq": "≥1.5×"},
        ),
        Case(
            "100 ms sleep throughput, gevent -p 2 -t 250",
            "msg/s",
            True,
            ("redis",),
            throughput(gevent_n, sleep_ms=100, threads=250, gevent=True),
        ),
        Case("single-send enqueue", "msg/s", True, both, enqueue_single(io_n)),
        Case(
            "batched enqueue (group.run)",
            "msg/s",
            True,
            ("redis",),
            enqueue_batched(n),
            targets={"redis": "≥10×"},
        ),
        Case(
            "send→start latency p50, idle worker",
            "ms",
            False,
            both,
            latency,
            targets={"redis": "≤5 ms"},
            pick=percentile(50),
        ),
        Case(
            "send→start latency p99, idle worker",
            "ms",
            False,
            both,
            latency,
            targets={"redis": "≤20 ms"},
            pick=percentile(99),
        ),
        Case(
            "results round trip (send → get_result)",
            "trips/s",
            True,
            ("redis",),
            results_round_trip(samples),
        ),
        Case(
            "idle CPU of a -p 2 -t 8 group",
            "% core",
            False,
            ("redis",),
            idle,
            pick=operator.itemgetter(0),
        ),
        Case(
            "RSS of a -p 2 -t 8 group (master + children)",
            "MiB",
            False,
            ("redis",),
            idle,
            pick=operator.itemgetter(1),
        ),
    ]
