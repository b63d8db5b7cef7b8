"""The broker goes away mid-run and comes back: producers and consumers recover by
themselves and no message is lost.

Redis: the test's own ``redis-server`` (AOF, fsync always, as a production Redis that must
not lose acknowledged writes) is killed with SIGKILL and restarted on the same port.
RabbitMQ: the shared server's application is stopped and started with ``rabbitmqctl``; the
outage is kept to a few seconds because other suites use the same server.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import wait_for

from .conftest import FaultSetup, make_setup, teardown
from .support import APP, RedisServer, WorkerCLI, describe

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MESSAGES = 2_000
BATCH = 50
#: How long the broker stays down (a fault we inject, not a wait for a condition).
OUTAGE_SECONDS = 2.0
#: Seconds between two batches, so that producing spans the outage.
PACE = 0.1


class Producer(threading.Thread):
    """Sends the tokens in small batches, retrying a batch until the broker takes it."""

    def __init__(self, setup: FaultSetup, tokens: list[str]) -> None:
        super().__init__(daemon=True)
        self.setup = setup
        self.tokens = tokens
        self.failures = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        actor = self.setup.actors["fault_slow"]
        try:
            for i in range(0, len(self.tokens), BATCH):
                batch = [actor.message(token, 0.002) for token in self.tokens[i : i + BATCH]]
                deadline = time.monotonic() + 120
                while True:
                    try:
                        self.setup.broker.enqueue_many(batch)
                        break
                    except Exception:
                        self.failures += 1
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)  # back-off between retries of the producer
                time.sleep(PACE)
        except BaseException as e:
            self.error = e


def run_with_outage(
    setup: FaultSetup, stop_broker: Callable[[], None], start_broker: Callable[[], None]
) -> dict[str, object]:
    tokens = [f"r{i:05d}" for i in range(MESSAGES)]
    cli = WorkerCLI(setup.worker_env(), setup.tmp_path / "worker.log", APP, "-p", "2", "-t", "4")
    try:
        cli.wait_children(2)
        producer = Producer(setup, tokens)
        producer.start()
        processed = setup.counts.processed
        wait_for(lambda: processed() >= MESSAGES // 5, 120, message="work before the outage")
        down_at = time.monotonic()
        stop_broker()
        try:
            time.sleep(OUTAGE_SECONDS)
        finally:
            start_broker()
        back_at = time.monotonic()
        before = processed()
        wait_for(lambda: processed() > before, 120, message="processing to resume")
        resumed_in = time.monotonic() - back_at
        producer.join(180)
        assert producer.error is None, repr(producer.error)
        try:
            wait_for(lambda: processed() == MESSAGES, 90, message="every message")
        except AssertionError as e:
            stats = setup.broker.queue_stats()
            raise AssertionError(
                f"{e}: {processed()}/{MESSAGES} processed; {stats}\n{cli.output()[-4000:]}"
            ) from None
        drained_in = time.monotonic() - back_at
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0, cli.output()[-3000:]
        assert sorted(setup.counts.all()) == tokens
        duplicates = setup.counts.duplicates()
        figures = {
            "messages": MESSAGES,
            "outage_s": round(back_at - down_at, 2),
            "producer_retries": producer.failures,
            "resumed_after_restart_s": round(resumed_in, 2),
            "drained_after_restart_s": round(drained_in, 2),
            "duplicates": sum(n - 1 for n in duplicates.values()),
        }
        print(f"\n[faults] broker restart {setup.kind}: {describe(figures)}")
        return figures
    finally:
        cli.kill_all()


def test_redis_restart_mid_run_loses_nothing(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    setup = make_setup("redis", tmp_path, broker_url=server.url)
    try:
        run_with_outage(setup, server.stop, server.start)
    finally:
        try:
            teardown(setup)
        finally:
            server.stop()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def start_rabbitmq_app() -> None:
    """start_app, retried: the shared server must never be left stopped."""
    for attempt in range(3):
        try:
            rabbitmqctl("start_app")
            return
        except (subprocess.SubprocessError, OSError):
            if attempt == 2:
                raise


def test_rabbitmq_restart_mid_run_loses_nothing(tmp_path: Path) -> None:
    setup = make_setup("rabbitmq", tmp_path)
    try:
        try:
            run_with_outage(setup, lambda: rabbitmqctl("stop_app"), start_rabbitmq_app)
        finally:
            start_rabbitmq_app()  # idempotent; whatever happened above
    finally:
        teardown(setup)
