"""SIGSTOP of a worker process for longer than the broker's lease (SQLite) or heartbeat
(Redis: taskq's worker heartbeat; RabbitMQ: the AMQP connection heartbeat, 2 s here), then
SIGCONT (issue 26): the messages it held are redelivered to the other worker process;
duplicates are allowed and counted, losses are not."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for

from .conftest import RABBITMQ_URL, make_setup, teardown
from .fault_app import HEARTBEAT_TIMEOUT, VISIBILITY_TIMEOUT
from .support import APP, WorkerCLI, describe

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MESSAGES = 400
#: How long the worker process stays stopped (the fault we inject): past lease and heartbeat.
STOPPED_SECONDS = max(HEARTBEAT_TIMEOUT, VISIBILITY_TIMEOUT) / 1000 + 2.0
#: RabbitMQ has no lease: it redelivers once it drops the connection of a peer that missed
#: its heartbeats (2 s asked for here, so about 4 s of silence); the stop outlasts that.
AMQP_HEARTBEAT_SECONDS = 2
AMQP_STOPPED_SECONDS = 4 * AMQP_HEARTBEAT_SECONDS + 2.0


@pytest.mark.parametrize("kind", ["sqlite", "redis", "rabbitmq"])
def test_sigstop_longer_than_the_lease_loses_nothing(kind: str, tmp_path: Path) -> None:
    stopped_seconds = STOPPED_SECONDS
    url = None
    if kind == "rabbitmq":
        stopped_seconds = AMQP_STOPPED_SECONDS
        url = f"{RABBITMQ_URL}?heartbeat={AMQP_HEARTBEAT_SECONDS}"
    setup = make_setup(kind, tmp_path, broker_url=url)
    actor = setup.actors["fault_slow"]
    tokens = [f"s{i:04d}" for i in range(MESSAGES)]
    setup.broker.enqueue_many(actor.message(token, 0.02) for token in tokens)
    cli = WorkerCLI(
        setup.worker_env(), tmp_path / "worker.log", APP, "-p", "2", "-t", "2",
        "--prefetch", "4", "--shutdown-timeout", "5000",
    )  # fmt: skip
    victim = 0
    try:
        children = cli.wait_children(2)
        processed = setup.counts.processed
        wait_for(lambda: processed() >= MESSAGES // 10, 60, message="work before the stop")
        victim = children[0]
        os.kill(victim, signal.SIGSTOP)
        stopped_at = processed()
        time.sleep(stopped_seconds)
        os.kill(victim, signal.SIGCONT)
        continued = time.monotonic()
        wait_for(lambda: processed() == MESSAGES, 120, message="every message")
        drained_in = time.monotonic() - continued
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0, cli.output()[-3000:]
        counts = setup.counts.all()
        lost = sorted(set(tokens) - set(counts))
        duplicated = sum(n - 1 for n in counts.values())
        print(
            f"\n[faults] SIGSTOP {kind}: "
            + describe(
                {
                    "sent": MESSAGES,
                    "run": sum(counts.values()),
                    "lost": len(lost),
                    "duplicated": duplicated,
                    "stopped_s": stopped_seconds,
                    "processed_when_stopped": stopped_at,
                    "drained_after_cont_s": round(drained_in, 2),
                }
            )
        )
        assert lost == []
        assert sorted(counts) == tokens
        stats = setup.broker.queue_stats()[setup.queue_name]
        assert stats["ready"] == 0 and stats["dead"] == 0, stats
    finally:
        if victim:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGCONT)
        cli.kill_all()
        teardown(setup)
