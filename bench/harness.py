"""Running worker groups of either framework and watching their queues drain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from .apps import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Setup:
    """One framework on one broker: where its messages live and how to start its workers."""

    framework: str  # "taskq" or "dramatiq"
    broker: str  # "redis", "rabbitmq" or "sqlite"
    namespace: str
    queue: str = "bench"
    env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        env = bytecode_environ()
        env.update(
            BENCH_FRAMEWORK=self.framework,
            BENCH_BROKER=self.broker,
            BENCH_NS=self.namespace,
            BENCH_QUEUE=self.queue,
            BENCH_SQLITE_PATH=f"/tmp/{self.namespace}.db",
            PYTHONPATH=str(ROOT),
            PROMETHEUS_MULTIPROC_DIR=f"/tmp/{self.namespace}-prom",
            dramatiq_prom_db=f"/tmp/{self.namespace}-prom",
            taskq_prom_db=f"/tmp/{self.namespace}-prom",
        )
        env.update(self.env)
        return env

    def worker_command(
        self, processes: int, threads: int, gevent: bool, module: str = "bench.apps.app"
    ) -> list[str]:
        if self.framework == "dramatiq":
            script = "dramatiq-gevent" if gevent else "dramatiq"
            return [str(BIN / script), module, "-p", str(processes), "-t", str(threads)]
        exe = [str(BIN / "taskq-gevent")] if gevent else [sys.executable, "-m", "taskq"]
        cmd = [*exe, "worker"] if not gevent else [*exe]
        return [*cmd, module, "-p", str(processes), "-t", str(threads)]


def bytecode_environ() -> dict[str, str]:
    """This environment, minus ``PYTHONDONTWRITEBYTECODE``.

    A pip-installed package (Dramatiq here) ships compiled bytecode; taskq, installed editable
    from a checkout, has only what its imports leave in ``__pycache__``. With that variable set
    (as in some shells and CI images) every taskq worker would compile its sources at each
    start while Dramatiq's load theirs: a start-up gap that no user of either has.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_sources() -> None:
    """Compile taskq's and the benchmark's sources once, before anything is timed."""
    import compileall

    for folder in ("taskq", "bench"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def load_app(setup: Setup, module: str = "bench.apps.app") -> Any:
    """Import the benchmark app ``module`` in this process for ``setup`` (the producer side)."""
    import importlib

    os.environ.update(setup.environ())
    for name in [m for m in sys.modules if m.startswith("bench.apps")]:
        del sys.modules[name]
    settings_module = importlib.import_module("bench.apps.settings")
    importlib.reload(settings_module)
    return importlib.import_module(module)


class WorkerGroup:
    """A `dramatiq` or `taskq worker` command running as a subprocess group."""

    def __init__(
        self,
        setup: Setup,
        *,
        processes: int = 2,
        threads: int = 8,
        gevent: bool = False,
        module: str = "bench.apps.app",
    ):
        self.setup = setup
        self.command = setup.worker_command(processes, threads, gevent, module)
        self.log_path = Path(f"/tmp/{setup.namespace}-{setup.framework}.log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerGroup:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.setup.environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def all_processes(self) -> list[psutil.Process]:
        assert self.process is not None
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> WorkerGroup:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def clear_redis(namespace: str) -> None:
    """Delete every key of a namespace (and of its results namespace)."""
    client = redis_client()
    for pattern in (f"{namespace}:*", f"{namespace}-r:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i : i + 1000])


def pending(setup: Setup, app: Any) -> int:
    """Messages not yet acked (Redis, SQLite) or not yet delivered (RabbitMQ) on the queue."""
    if setup.broker == "redis":
        return int(redis_client().hlen(f"{setup.namespace}:{setup.queue}.msgs"))
    if setup.broker == "rabbitmq":
        return rabbit_ready(setup.queue)
    stats = app.broker.queue_stats()[setup.queue]
    return stats["ready"] + stats["in_flight"] + stats["delayed"]


_rabbit_channel: Any = None


def rabbit_ready(queue: str) -> int:
    """Ready messages on a RabbitMQ queue, over one long-lived probe connection."""
    global _rabbit_channel
    import pika

    for attempt in range(2):
        if _rabbit_channel is None or _rabbit_channel.is_closed:
            connection = pika.BlockingConnection(pika.URLParameters(settings.AMQP_URL))
            _rabbit_channel = connection.channel()
        try:
            return _rabbit_channel.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.AMQPConnectionError:
            # Idle between cases, the probe misses heartbeats and the server drops it.
            _rabbit_channel = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def purge(setup: Setup, app: Any) -> None:
    """Empty the benchmark queue before a case."""
    if setup.broker == "redis":
        clear_redis(setup.namespace)
    else:
        app.broker.flush_all()
    redis_client().delete(latency_key(setup))


def latency_key(setup: Setup) -> str:
    """The Redis list where the latency actor of ``setup`` records its samples."""
    return f"{setup.namespace}:latency"


def wait_filled(setup: Setup, app: Any, total: int, timeout: float = 60) -> None:
    """Block until the queue shows all ``total`` pre-filled messages.

    Publishes without confirms (both frameworks' default) return before RabbitMQ has queued
    them: a drain timed from then would count the tail of the fill, and the workers' boot.
    """
    deadline = time.monotonic() + timeout
    while (left := pending(setup, app)) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{setup.framework}/{setup.broker}: only {left} of {total} queued")
        time.sleep(0.01)


def wait_drained(setup: Setup, app: Any, total: int, timeout: float = 600) -> float:
    """Seconds from the first processed message to an empty queue."""
    deadline = time.monotonic() + timeout
    started = None
    while time.monotonic() < deadline:
        left = pending(setup, app)
        now = time.perf_counter()
        if started is None and left < total:
            started = now
        if left == 0 and started is not None:
            return now - started
        # Probing costs the server (and, on 2 cores, the workers) CPU: poll gently.
        time.sleep(0.002 if setup.broker == "redis" else 0.01)
    raise TimeoutError(f"{setup.framework}/{setup.broker}: queue did not drain in {timeout}s")


def wait_ready(setup: Setup, app: Any, timeout: float = 60) -> None:
    """Block until the workers process a message (they are booted and consuming)."""
    client = redis_client()
    key = latency_key(setup)
    before = client.llen(key)
    app.latency.send(time.time())
    deadline = time.monotonic() + timeout
    while client.llen(key) <= before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{setup.framework} workers did not start in {timeout}s")
        time.sleep(0.01)
    client.delete(key)
