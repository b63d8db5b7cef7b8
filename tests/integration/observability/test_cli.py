"""``taskq info``, ``taskq enqueue`` and ``taskq events`` run as real subprocesses."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import uuid

import pytest

import taskq
from taskq.middleware.events import Events

from ...helpers import wait_for

pytestmark = pytest.mark.redis
redis = pytest.importorskip("redis")

TASKQ = [sys.executable, "-m", "taskq"]


@pytest.fixture
def redis_url():
    """A Redis URL with a namespace of its own, whose keys are deleted afterwards."""
    namespace = f"tqcli-{uuid.uuid4().hex[:10]}"
    client = redis.Redis(host="127.0.0.1", port=6379, db=0)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as e:
        pytest.skip(f"Redis is not running: {e}")
    yield f"redis://127.0.0.1:6379/0?namespace={namespace}"
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def taskq_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TASKQ, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_enqueue_then_info_counts_the_message(redis_url, queue_name):
    sent = taskq_cli("enqueue", "add", "[1, 2]", "--kwargs", '{"z": 3}', "--queue", queue_name,
                     "--broker", redis_url, "--json")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    message = json.loads(sent.stdout)
    assert (message["actor_name"], message["args"], message["kwargs"]) == ("add", [1, 2], {"z": 3})
    delayed = taskq_cli("enqueue", "add", "--queue", queue_name, "--delay", "60000",
                        "--broker", redis_url)  # fmt: skip
    assert delayed.returncode == 0, delayed.stderr

    info = taskq_cli("info", "--broker", redis_url, "--queue", queue_name, "--json")
    assert info.returncode == 0, info.stderr
    report = json.loads(info.stdout)
    assert report["queues"][queue_name] == {"ready": 1, "delayed": 1, "in_flight": 0, "dead": 0}
    assert report["broker"] == redis_url

    table = taskq_cli("info", "--broker", redis_url, "--queue", queue_name)
    assert table.returncode == 0
    assert queue_name in table.stdout


def test_enqueued_messages_run_on_a_worker_with_their_arguments(
    redis_url, queue_name, start_worker
):
    from taskq.urls import broker_from_url

    sent = taskq_cli("enqueue", "multiply", "[6, 7]", "--queue", queue_name,
                     "--broker", redis_url, "--json")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    broker = broker_from_url(redis_url)
    results = []

    @taskq.actor(queue_name=queue_name, broker=broker)
    def multiply(x: int, y: int) -> None:
        results.append(x * y)

    try:
        start_worker(broker)
        wait_for(lambda: results == [42], message="the enqueued message to run")
    finally:
        broker.close()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["add", "[1,"], "ARGS_JSON is not valid JSON"),
        (["add", '{"a": 1}'], "ARGS_JSON must be a JSON list"),
        (["add", "--kwargs", "[1]"], "--kwargs must be a JSON dict"),
        (["add", "--queue", "bad queue"], "Queue name 'bad queue' is invalid"),
    ],
)
def test_bad_input_exits_2_with_one_line(redis_url, args, complaint):
    result = taskq_cli("enqueue", *args, "--broker", redis_url)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["info"], ["enqueue", "add"], ["events"]])
def test_an_unreachable_broker_exits_3_naming_the_masked_url(command):
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    result = taskq_cli(*command, "--broker", url)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in lines[0]
    assert "hunter2" not in result.stderr


def test_sqlite_urls_work_too(tmp_path, queue_name):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for i in range(2):
        assert (
            taskq_cli(
                "enqueue", "noop", f"[{i}]", "--queue", queue_name, "--broker", url
            ).returncode
            == 0
        )
    info = taskq_cli("info", "--broker", url, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["queues"][queue_name]["ready"] == 2


class Tail:
    """A running ``taskq events --json`` whose lines are read in a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*TASKQ, "events", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def next_event(self, timeout: float = 10) -> dict:
        return json.loads(self.lines.get(timeout=timeout))

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(15)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_events_tails_json_lines_filtered_by_queue_and_exits_0(
    redis_url, queue_name, start_worker, signum
):
    from taskq.urls import broker_from_url

    broker = broker_from_url(redis_url)
    broker.add_middleware(Events())
    tail = Tail("--broker", redis_url, "--queue", queue_name)
    try:
        # The tail is subscribed once it shows a probe event.
        def probe_seen() -> bool:
            broker.publish_event({"event": "probe", "message_id": "-", "queue_name": queue_name})
            try:
                return tail.next_event(timeout=0.2)["event"] == "probe"
            except queue.Empty:
                return False

        wait_for(probe_seen, timeout=20, message="taskq events to subscribe")
        while not tail.lines.empty():
            tail.lines.get()

        @taskq.actor(queue_name=queue_name, broker=broker)
        def greet(name: str) -> str:
            return f"hello {name}"

        @taskq.actor(queue_name=queue_name + "other", broker=broker)
        def ignored() -> None:
            pass

        ignored.send()
        sent = taskq_cli("enqueue", "greet", '["ada"]', "--queue", queue_name,
                         "--broker", redis_url, "--json", env={"TASKQ_EVENTS": "1"})  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        message_id = json.loads(sent.stdout)["message_id"]
        start_worker(broker)
        seen = [tail.next_event() for _ in range(3)]
        assert sorted(e["event"] for e in seen) == ["enqueued", "started", "succeeded"]
        assert {e["message_id"] for e in seen} == {message_id}
        assert all(e["queue_name"] == queue_name for e in seen)
    finally:
        code = tail.stop(signum)
        broker.close()
    assert code == 0, tail.process.stderr.read()


@pytest.mark.parametrize("as_json", [False, True])
def test_info_shows_the_broker_url_with_its_password_masked(as_json):
    url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    result = taskq_cli("info", *(["--json"] if as_json else []), "--broker", url)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "amqp://guest:***@127.0.0.1:5672/%2F" in output
    assert "guest:guest" not in output
