"""End to end: scrape the real endpoint of ``taskq worker -p 2`` and check exact counts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from taskq.message import Message
from taskq.urls import broker_from_url

from ...helpers import wait_for
from .conftest import health, scrape, value

pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.slow

APP = """
import taskq

@taskq.actor(queue_name="jobs")
def ok(i):
    return i

@taskq.actor(queue_name="jobs", max_retries=1, min_backoff=10, max_backoff=10)
def doomed(i):
    raise ValueError(f"doomed {i}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker_group(tmp_path):
    """``taskq worker app -p 2`` on a SQLite file, with metrics on a free port."""
    (tmp_path / "metrics_app.py").write_text(textwrap.dedent(APP))
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "TASKQ_BROKER_URL": url,
        "taskq_prom_port": str(port),
        "taskq_prom_db": str(tmp_path / "prom"),
    }
    for name in ("PROMETHEUS_MULTIPROC_DIR", "TASKQ_METRICS_MASTER_PID", "TASKQ_EVENTS"):
        env.pop(name, None)
    broker = broker_from_url(url, middleware=[])
    broker.declare_queue("jobs")
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    master = subprocess.Popen(
        [sys.executable, "-m", "taskq", "worker", "metrics_app", "-p", "2", "-t", "2"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    master.log_path = tmp_path / "worker.log"
    try:
        yield broker, f"http://127.0.0.1:{port}", master
    finally:
        if master.poll() is None:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(30)
            except subprocess.TimeoutExpired:
                master.kill()
        broker.close()
        log.close()


def send(broker, actor: str, count: int) -> None:
    for i in range(count):
        broker.enqueue(Message("jobs", actor, (i,)))


def test_exact_counts_across_processes_a_killed_worker_and_a_reload(worker_group):
    broker, base, master = worker_group
    send(broker, "ok", 5)
    send(broker, "doomed", 2)

    def metrics() -> dict:
        return scrape(base + "/metrics")

    def count(samples: dict, name: str, actor: str) -> float:
        return value(samples, name, queue_name="jobs", actor_name=actor)

    expected = {
        ("taskq_messages_total", "ok"): 5,
        ("taskq_message_errors_total", "ok"): 0,
        ("taskq_message_retries_total", "ok"): 0,
        ("taskq_message_rejects_total", "ok"): 0,
        ("taskq_message_duration_milliseconds_count", "ok"): 5,
        ("taskq_messages_total", "doomed"): 4,  # 2 messages x (first try + 1 retry)
        ("taskq_message_errors_total", "doomed"): 4,
        ("taskq_message_retries_total", "doomed"): 2,
        ("taskq_message_rejects_total", "doomed"): 2,
        ("taskq_message_duration_milliseconds_count", "doomed"): 4,
        ("taskq_messages_inprogress", "ok"): 0,
    }

    def settled(want: dict) -> dict | None:
        """The scrape once every counted value equals ``want`` (worker processes write their
        metric updates in batches, so a scrape may trail the work by up to half a second)."""
        try:
            samples = metrics()
        except OSError:
            return None
        seen = {key: count(samples, *key) for key in want}
        return samples if seen == want else None

    try:
        wait_for(lambda: settled(expected), timeout=60, message="the worker group to finish")
    except AssertionError as e:
        tail = master.log_path.read_text()[-3000:]
        raise AssertionError(f"{e}\nlast scrape: {metrics()}\nworker log: {tail}") from None

    def healthy_and_drained() -> dict | None:
        code, body = health(base + "/healthz")
        jobs = body["queues"].get("jobs", {})
        drained = jobs.get("lag") == 0 and jobs.get("in_flight") == 0 and jobs.get("dead") == 2
        return body if code == 200 and body["broker"]["reachable"] and drained else None

    report = wait_for(healthy_and_drained, timeout=30, message="a healthy, drained report")
    children = report["workers"]["children"]
    assert len(children) == 2

    os.kill(children[0], signal.SIGKILL)

    def replaced() -> bool:
        code, body = health(base + "/healthz")
        pids = body["workers"].get("children", [])
        reporting = body["broker"].get("reporting_workers", [])
        return (
            code == 200 and len(pids) == 2 and children[0] not in pids and sorted(pids) == reporting
        )

    wait_for(replaced, timeout=60, message="the killed worker to be replaced")
    after_kill = metrics()
    assert {key: count(after_kill, *key) for key in expected} == expected

    master.send_signal(signal.SIGHUP)  # reload: every worker replaced, totals kept

    def reloaded() -> bool:
        code, body = health(base + "/healthz")
        pids = body["workers"].get("children", [])
        reporting = body["broker"].get("reporting_workers", [])
        return (
            code == 200
            and len(pids) == 2
            and not set(pids) & set(children)
            and sorted(pids) == reporting
        )

    wait_for(reloaded, timeout=60, message="both workers to be reloaded")
    assert {key: count(metrics(), *key) for key in expected} == expected

    send(broker, "ok", 3)
    more = {
        **expected,
        ("taskq_messages_total", "ok"): 8,
        ("taskq_message_duration_milliseconds_count", "ok"): 8,
    }
    wait_for(lambda: settled(more), timeout=60, message="3 more messages")

    master.send_signal(signal.SIGTERM)
    assert master.wait(60) == 0, master.log_path.read_text()[-2000:]
