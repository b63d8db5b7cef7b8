"""The master-side metrics endpoint: sums over child processes, survives restarts and kills."""

from __future__ import annotations

import glob
import logging
import multiprocessing
import os
import signal
import socket
import time

import pytest

from taskq.broker import MessageProxy
from taskq.brokers.stub import StubBroker
from taskq.message import Message

from ...helpers import wait_for
from .conftest import health, scrape, value

pytest.importorskip("prometheus_client")

from taskq.metrics.exposition import StatusReporter  # noqa: E402
from taskq.metrics.server import ExpositionServer  # noqa: E402
from taskq.middleware.prometheus import Prometheus  # noqa: E402

fork = multiprocessing.get_context("fork")
LABELS = {"queue_name": "q", "actor_name": "work"}


def _process(prometheus: Prometheus, broker: StubBroker, *, fail: bool = False) -> None:
    proxy = MessageProxy(Message(queue_name="q", actor_name="work"))
    prometheus.before_process_message(broker, proxy)
    prometheus.after_process_message(broker, proxy, exception=ValueError() if fail else None)
    prometheus.after_ack(broker, proxy)


def _child(successes: int, failures: int) -> None:
    """A worker process: runs messages through the Prometheus middleware, then stops."""
    prometheus, broker = Prometheus(), StubBroker(middleware=[])
    for _ in range(successes):
        _process(prometheus, broker)
    for _ in range(failures):
        _process(prometheus, broker, fail=True)
    prometheus.after_worker_shutdown(broker, None)  # as Worker.stop does


def _stuck_child(ready) -> None:
    """A worker process stuck in the middle of a message."""
    prometheus, broker = Prometheus(), StubBroker(middleware=[])
    _process(prometheus, broker)
    prometheus.before_process_message(broker, MessageProxy(Message("q", "work")))
    ready.set()
    time.sleep(60)


def run_child(server: ExpositionServer, successes: int, failures: int = 0) -> int:
    process = fork.Process(target=_child, args=(successes, failures))
    process.start()
    process.join(30)
    assert process.exitcode == 0
    server.child_exited(process.pid)
    return process.pid


@pytest.fixture
def server(metrics_dir):
    server = ExpositionServer("127.0.0.1", 0, lambda: {"workers_alive": 1, "workers_expected": 1})
    assert server.start()
    yield server
    server.stop()


def url(server: ExpositionServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def test_counters_sum_over_children_and_survive_their_exit(server, metrics_dir):
    pids = [run_child(server, 2, 1), run_child(server, 3, 0), run_child(server, 4, 2)]
    samples = scrape(url(server, "/metrics"))
    assert value(samples, "taskq_messages_total", **LABELS) == 12
    assert value(samples, "taskq_message_errors_total", **LABELS) == 3
    assert value(samples, "taskq_message_duration_milliseconds_count", **LABELS) == 12
    leftovers = [f for pid in pids for f in glob.glob(os.path.join(metrics_dir, f"*_{pid}.db"))]
    assert leftovers == []


def test_a_killed_childs_inprogress_gauge_drops_to_zero(server):
    ready = fork.Event()
    process = fork.Process(target=_stuck_child, args=(ready,))
    process.start()
    assert ready.wait(30)

    def one_in_progress() -> bool:
        samples = scrape(url(server, "/metrics"))
        return value(samples, "taskq_messages_inprogress", **LABELS) == 1

    wait_for(one_in_progress, message="the stuck message counted (written within 0.5 s)")
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    server.child_exited(process.pid)
    samples = scrape(url(server, "/metrics"))
    assert value(samples, "taskq_messages_inprogress", **LABELS) == 0
    assert value(samples, "taskq_messages_total", **LABELS) == 1


def test_files_stay_bounded_after_100_child_restarts(server, metrics_dir):
    run_child(server, 1)
    files_after_one = sorted(os.listdir(metrics_dir))
    for _ in range(100):
        run_child(server, 1, 1)
    assert sorted(os.listdir(metrics_dir)) == files_after_one
    samples = scrape(url(server, "/metrics"))
    assert value(samples, "taskq_messages_total", **LABELS) == 201
    assert value(samples, "taskq_message_errors_total", **LABELS) == 100


def test_a_taken_port_logs_one_line_instead_of_crashing(metrics_dir, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ExpositionServer("127.0.0.1", port)
        with caplog.at_level(logging.ERROR, logger="taskq.exposition"):
            assert server.start() is False
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert str(port) in errors[0].getMessage()
    server.stop()


def _report_status(failing: bool) -> None:
    broker = StubBroker(middleware=[])
    broker.declare_queue("jobs")
    for _ in range(3):
        broker.enqueue(Message("jobs", "work"))
    if failing:
        broker.queue_stats = lambda: (_ for _ in ()).throw(OSError("connection refused"))
    StatusReporter(broker, os.environ["PROMETHEUS_MULTIPROC_DIR"]).report()


def test_healthz_reports_workers_broker_and_lag(metrics_dir):
    workers = {"workers_alive": 2, "workers_expected": 2}
    server = ExpositionServer("127.0.0.1", 0, lambda: dict(workers))
    assert server.start()
    try:
        healthz = url(server, "/healthz")
        process = fork.Process(target=_report_status, args=(False,))
        process.start()
        process.join(30)
        status, body = health(healthz)
        assert status == 200, body
        assert body["broker"]["reachable"] is True
        assert body["queues"]["jobs"]["lag"] == 3

        workers["workers_alive"] = 1
        status, body = health(healthz)
        assert status == 503
        assert "workers: 1 of 2 alive" in body["problems"]

        workers["workers_alive"] = 2
        server.child_exited(process.pid)
        failing = fork.Process(target=_report_status, args=(True,))
        failing.start()
        failing.join(30)
        status, body = wait_for(lambda: health(healthz), message="health answer")
        assert status == 503
        assert body["problems"] == ["broker unreachable: OSError: connection refused"]
    finally:
        server.stop()


def _holds_listener(port: int, conn) -> None:
    """A forked worker process: report whether it can still accept on the master's port."""
    import psutil

    held = [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]
    conn.send(bool(held))
    conn.close()


def test_forked_children_never_hold_the_listener(metrics_dir):
    server = ExpositionServer("127.0.0.1", 0)
    assert server.start()
    try:
        parent, child = fork.Pipe()
        process = fork.Process(target=_holds_listener, args=(server.port, child))
        process.start()
        assert parent.recv() is False
        process.join(30)
        status, _ = health(url(server, "/healthz"))  # the master still serves
        assert status == 200
    finally:
        server.stop()


def test_a_taken_port_is_retried_in_the_background(metrics_dir, monkeypatch):
    monkeypatch.setattr("taskq.metrics.server.RETRY_INTERVAL", 0.05)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    server = ExpositionServer("127.0.0.1", port)
    try:
        assert server.start(retry=True) is False
        assert not server.listening
        taken.close()
        wait_for(lambda: server.listening, timeout=10, message="the retried listen")
        status, _ = health(url(server, "/healthz"))
        assert status == 200
    finally:
        taken.close()
        server.stop()


def test_a_silent_client_never_pins_the_server(metrics_dir):
    server = ExpositionServer("127.0.0.1", 0)
    assert server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as silent:
            started = time.monotonic()
            silent.settimeout(5)
            assert silent.recv(1) == b""  # dropped after REQUEST_TIMEOUT
            assert time.monotonic() - started < 3
            status, _ = health(url(server, "/healthz"))
            assert status == 200
    finally:
        server.stop()


def _boot_only() -> None:
    """A worker process that boots and processes nothing."""
    import taskq

    prometheus, broker = Prometheus(), StubBroker(middleware=[])

    @taskq.actor(broker=broker, queue_name="q", actor_name="work")
    def work() -> None:
        pass

    prometheus.after_worker_boot(broker, None)
    prometheus._status_reporter.stop()
    prometheus.after_worker_shutdown(broker, None)


def test_every_series_is_exported_at_zero_from_the_start(metrics_dir):
    server = ExpositionServer("127.0.0.1", 0)
    assert server.start()
    try:
        process = fork.Process(target=_boot_only)
        process.start()
        process.join(30)
        samples = scrape(url(server, "/metrics"))
        for name in ("taskq_messages_total", "taskq_message_errors_total"):
            key = (name, frozenset(LABELS.items()))
            assert samples.get(key) == 0, sorted(samples)[:20]
    finally:
        server.stop()
