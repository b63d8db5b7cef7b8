"""examples/other_languages: a Node.js and a shell producer write the wire format straight into
Redis; a real ``taskq worker`` must run the messages they enqueue."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from .support import EXAMPLES, example_env

pytestmark = pytest.mark.redis
redis = pytest.importorskip("redis")

FOLDER = EXAMPLES / "other_languages"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"example-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        for key in client.scan_iter(f"{name}:*"):
            client.delete(key)
    finally:
        client.close()


def run_worker_until(namespace: str, expected: str, timeout: float = 60) -> list[str]:
    """Run ``taskq worker actors`` on the namespace until it prints ``expected``; stop it with
    SIGTERM and return its output lines. Fails if the line never comes or the exit is not 0."""
    command = [sys.executable, "-m", "taskq", "worker", "actors", "--path", str(FOLDER)]
    command += ["--broker", f"{REDIS_URL}?namespace={namespace}", "-p", "1", "-t", "1"]
    worker = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=example_env()
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in worker.stdout], daemon=True
    ).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while expected not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or worker.poll() is not None:
                break
            try:
                seen.append(lines.get(timeout=min(remaining, 0.5)).strip())
            except queue.Empty:
                continue
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
    assert expected in seen, f"the worker never printed {expected!r}; it printed {seen}"
    assert exit_code == 0
    return seen


def assert_queue_drained(namespace: str) -> None:
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert client.llen(f"{namespace}:default") == 0
        assert client.hlen(f"{namespace}:default.msgs") == 0, "the message was not acked"
        assert client.zcard(f"{namespace}:default.XQ") == 0, "the message was dead-lettered"
    finally:
        client.close()


def test_node_producer_enqueues_a_message_the_worker_runs(namespace: str) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed to run examples/other_languages/enqueue.js")
    if not (FOLDER / "node_modules" / "redis").is_dir():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=FOLDER, check=True, timeout=300
        )
    produced = subprocess.run(
        [node, "enqueue.js", "2", "3"],
        cwd=FOLDER,
        capture_output=True,
        text=True,
        timeout=60,
        env=example_env(TASKQ_NAMESPACE=namespace, REDIS_URL=REDIS_URL),
    )
    assert produced.returncode == 0, produced.stderr
    assert "enqueued add(2, 3)" in produced.stdout
    run_worker_until(namespace, "add(2, 3) = 5")
    assert_queue_drained(namespace)


def test_shell_producer_enqueues_a_message_the_worker_runs(namespace: str) -> None:
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli is needed to run examples/other_languages/enqueue.sh")
    produced = subprocess.run(
        ["sh", str(FOLDER / "enqueue.sh"), "4", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        env=example_env(TASKQ_NAMESPACE=namespace),
    )
    assert produced.returncode == 0, produced.stderr
    assert "enqueued add(4, 5)" in produced.stdout
    run_worker_until(namespace, "add(4, 5) = 9")
    assert_queue_drained(namespace)


def test_messages_from_both_producers_are_valid_wire_format(namespace: str) -> None:
    """What the shell script writes decodes as a taskq Message with distinct ids."""
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli is needed to run examples/other_languages/enqueue.sh")
    from taskq import Message

    subprocess.run(
        ["sh", str(FOLDER / "enqueue.sh"), "1", "1"],
        check=True,
        capture_output=True,
        timeout=60,
        env=example_env(TASKQ_NAMESPACE=namespace),
    )
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        (redis_id,) = client.lrange(f"{namespace}:default", 0, -1)
        message = Message.decode(client.hget(f"{namespace}:default.msgs", redis_id))
    finally:
        client.close()
    assert message.actor_name == "add" and message.args == (1, 1)
    assert message.options["redis_message_id"] == redis_id.decode() != message.message_id
    assert abs(message.message_timestamp - time.time() * 1000) < 600_000
