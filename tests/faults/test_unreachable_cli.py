"""``taskq info``, ``taskq events`` and ``taskq tui`` never show an unreachable or
unauthorised broker as an empty one (issue 26): exit 3, one line naming the masked URL and
the reason, in the same words on Redis and RabbitMQ."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import ROOT, RedisServer, fault_env, spare_port

pytestmark = pytest.mark.faults

PASSWORD = "s3cret-Cli-pw"
COMMANDS = ("info", "events", "tui")


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server that requires a password."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), spare_port())
    server.start("--requirepass", PASSWORD)
    try:
        yield server
    finally:
        server.stop()


def cases(redis_port: int) -> list[tuple[str, str, str]]:
    """(broker URL, masked URL, expected reason) for each fault."""
    closed = spare_port()
    amqp = "amqp://guest:{}@127.0.0.1:{}/{}"
    return [
        (f"redis://127.0.0.1:{closed}/0", f"redis://127.0.0.1:{closed}/0", "connection refused"),
        (
            f"redis://:{PASSWORD}x@127.0.0.1:{redis_port}/0",
            f"redis://:***@127.0.0.1:{redis_port}/0",
            "authentication failed",
        ),
        (amqp.format("guest", closed, "%2F"), amqp.format("***", closed, "%2F"),
         "connection refused"),
        (amqp.format(PASSWORD, 5672, "%2F"), amqp.format("***", 5672, "%2F"),
         "authentication failed"),
        (amqp.format("guest", 5672, "taskq-no-such-vhost"),
         amqp.format("***", 5672, "taskq-no-such-vhost"), "vhost missing or not allowed"),
    ]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_unreachable_broker_exits_3_with_the_reason(
    command: str, private_redis: RedisServer, tmp_path: Path
) -> None:
    for url, masked, reason in cases(private_redis.port):
        result = subprocess.run(
            [sys.executable, "-m", "taskq", command, "--broker", url],
            cwd=ROOT,
            env=fault_env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 3, (url, result.returncode, result.stdout[-500:], lines)
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"taskq: error: cannot reach the broker at {masked}: {reason}")
        assert PASSWORD not in result.stderr + result.stdout
        assert "No queues found" not in result.stdout
