"""A broker restart while a producer sends one message every 2 ms (issue 26): every
``send()`` that returned is processed afterwards (sends that raised are retried by the
producer and only counted once one returns); the workers resume by themselves.

RabbitMQ is the shared server: only its application is stopped (``rabbitmqctl stop_app``),
and it is started again in a ``finally`` whatever happens. Redis is a private server.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import wait_for

from .conftest import FaultSetup, make_setup, teardown
from .support import APP, RedisServer, WorkerCLI, describe
from .test_broker_restart import rabbitmqctl, start_rabbitmq_app

pytestmark = [pytest.mark.faults, pytest.mark.slow]

#: Seconds between two sends; the producer stops when told to, or after PRODUCE_SECONDS.
PACE = 0.002
PRODUCE_SECONDS = 120.0
#: Sends after the restart before the producer is told to stop.
SENDS_AFTER_RESTART = 300
#: Messages enqueued at once just before a restart of a Redis without persistence.
BACKLOG = 2000
#: How long the broker stays down (the fault we inject).
OUTAGE_SECONDS = 2.0


class PacedProducer(threading.Thread):
    """Sends a new token every :data:`PACE` seconds; a send that raises is retried."""

    def __init__(self, setup: FaultSetup) -> None:
        super().__init__(daemon=True)
        self.setup = setup
        self.returned: list[str] = []
        self.failures = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        actor = self.setup.actors["fault_record"]
        deadline = time.monotonic() + PRODUCE_SECONDS
        try:
            while time.monotonic() < deadline and not self.stop.is_set():
                token = f"p{len(self.returned):05d}"
                give_up = time.monotonic() + 120
                while True:
                    try:
                        actor.send(token)
                        break
                    except Exception:
                        self.failures += 1
                        if time.monotonic() > give_up:
                            raise
                        time.sleep(0.05)
                self.returned.append(token)
                time.sleep(PACE)
        except BaseException as e:
            self.error = e


def run_paced(
    setup: FaultSetup,
    stop_broker: Callable[[], None],
    start_broker: Callable[[], None],
    *,
    persistent: bool = True,
) -> None:
    """Restart the broker under a paced producer and check every returned send ran.

    Without ``persistent``, what was sent before the restart may be lost (counted and
    printed); everything sent once the broker is back must run.
    """
    cli = WorkerCLI(setup.worker_env(), setup.tmp_path / "worker.log", APP, "-p", "1", "-t", "4")
    producer = PacedProducer(setup)
    try:
        cli.wait_children(1)
        producer.start()
        processed = setup.counts.processed
        wait_for(lambda: processed() >= 200, 60, message="work before the outage")
        backlog = [] if persistent else [f"b{i:05d}" for i in range(BACKLOG)]
        if backlog:  # what a volatile broker holds at the restart, and loses
            actor = setup.actors["fault_record"]
            setup.broker.enqueue_many(actor.message(token) for token in backlog)
        try:
            stop_broker()
            time.sleep(OUTAGE_SECONDS)
        finally:
            start_broker()
        back_at = time.monotonic()
        before, sent_before = processed(), len(producer.returned)
        kept_from = 0 if persistent else sent_before  # sends that must survive
        wait_for(lambda: processed() > before, 60, message="processing to resume")
        resumed_in = time.monotonic() - back_at
        wait_for(
            lambda: len(producer.returned) >= sent_before + SENDS_AFTER_RESTART or producer.error,
            60,
            message="sends after the restart",
        )
        producer.stop.set()
        producer.join(150)
        assert producer.error is None, repr(producer.error)
        sent = producer.returned
        with contextlib.suppress(AssertionError, TimeoutError):  # failed below, with counts
            must_run = set(sent[kept_from:])
            wait_for(lambda: must_run <= set(setup.counts.all()), 90, message="every send")
        counts = setup.counts.all()
        lost = sorted(set(sent[kept_from:]) - set(counts))
        gone = sorted(set(sent[:kept_from] + backlog) - set(counts))  # without persistence
        label = setup.kind if persistent else f"{setup.kind} without persistence"
        print(
            f"\n[faults] paced restart {label}: "
            + describe(
                {
                    "sent": len(sent) + len(backlog),
                    "run": sum(counts.values()),
                    "lost": len(lost) + len(gone),
                    "lost_queued_before_restart": len(gone),
                    "duplicated": sum(n - 1 for n in counts.values()),
                    "send_retries": producer.failures,
                    "outage_s": OUTAGE_SECONDS,
                    "resumed_after_restart_s": round(resumed_in, 2),
                }
            )
        )
        assert lost == [], lost[:20]
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0, cli.output()[-3000:]
    finally:
        producer.stop.set()
        cli.kill_all()


def test_redis_restart_while_sending_every_2_ms(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    setup = make_setup("redis", tmp_path, broker_url=server.url)
    try:
        run_paced(setup, server.stop, server.start)
        from redis import Redis

        client = Redis.from_url(server.url)
        try:  # no ack set left holding a message
            acks = list(client.scan_iter(match=f"{setup.env['FAULT_NAMESPACE']}:__acks__*"))
            assert all(client.scard(key) == 0 for key in acks), acks
        finally:
            client.close()
    finally:
        try:
            teardown(setup)
        finally:
            server.stop()


def test_redis_restart_without_persistence_resumes_by_itself(tmp_path: Path) -> None:
    """Redis as the shared server runs it (no RDB, no AOF): a restart loses what was queued,
    which docs/reliability.md says; the worker must resume by itself and run every message
    sent after the restart, with no ack set left behind."""
    server = RedisServer(tmp_path)
    volatile = ("--appendonly", "no")
    server.start(*volatile)
    setup = make_setup("redis", tmp_path, broker_url=server.url)
    try:
        run_paced(setup, server.stop, lambda: server.start(*volatile), persistent=False)
        assert_no_ack_set_left(server.url, setup.env["FAULT_NAMESPACE"])
    finally:
        try:
            teardown(setup)
        finally:
            server.stop()


def assert_no_ack_set_left(url: str, namespace: str) -> None:
    """No ``__acks__`` set of ``namespace`` still holds a message."""
    from redis import Redis

    client = Redis.from_url(url)
    try:
        acks = list(client.scan_iter(match=f"{namespace}:__acks__*"))
        assert all(client.scard(key) == 0 for key in acks), acks
    finally:
        client.close()


def test_rabbitmq_restart_while_sending_every_2_ms(tmp_path: Path) -> None:
    setup = make_setup("rabbitmq", tmp_path)
    try:
        try:
            run_paced(setup, lambda: rabbitmqctl("stop_app"), start_rabbitmq_app)
        finally:
            start_rabbitmq_app()  # idempotent; the shared server is never left stopped
    finally:
        teardown(setup)
