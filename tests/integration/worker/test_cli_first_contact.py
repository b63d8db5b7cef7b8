"""First contact with real brokers: an unreachable RabbitMQ (wrong password, closed port) exits
3 with one line and the password masked, and ``taskq enqueue`` warns only while no live worker
consumes the actor's queue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from .conftest import App

TASKQ = [sys.executable, "-m", "taskq"]


def taskq(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TASKQ_BROKER_URL"}
    return subprocess.run([*TASKQ, *args], capture_output=True, text=True, timeout=60, env=env)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:wrongsecret@127.0.0.1:5672/%2F",
        "amqp://guest:wrongsecret@127.0.0.1:{port}/%2F",
    ],
)
def test_info_on_an_unreachable_rabbitmq_exits_3_with_one_masked_line(url: str) -> None:
    pytest.importorskip("pika")
    url = url.format(port=closed_port())
    result = taskq("info", "--broker", url)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("taskq: error: cannot reach the broker at ")
    assert "amqp://guest:***@127.0.0.1:" in lines[0]
    assert "wrongsecret" not in result.stderr


def test_enqueue_warns_only_while_no_worker_consumes_the_queue(app: App) -> None:
    app.write_module()
    first = taskq("enqueue", "work", "[1]", "--broker", app.url)
    assert first.returncode == 0
    assert "no worker has declared actor 'work' yet" in first.stderr
    master = app.start_worker("-p", "1", "-t", "1")
    app.wait_started(master)
    second = taskq("enqueue", "work", "[2]", "--broker", app.url)
    assert second.returncode == 0 and second.stderr == ""
    other = taskq("enqueue", "work", "[3]", "--queue", "elsewhere", "--broker", app.url)
    assert other.returncode == 0
    assert "no live worker consumes queue 'elsewhere'" in other.stderr


def test_enqueue_on_rabbitmq_warns_when_the_queue_has_no_consumer() -> None:
    pika = pytest.importorskip("pika")
    url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    queue = f"tqcli_{uuid.uuid4().hex[:10]}"
    try:
        result = taskq("enqueue", "nosuchactor", "[1]", "--queue", queue, "--broker", url)
        assert result.returncode == 0, result.stderr
        assert "no worker has declared actor 'nosuchactor' yet" in result.stderr
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
        connection.close()
