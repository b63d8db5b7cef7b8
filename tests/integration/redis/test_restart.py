"""Connection loss: a worker whose Redis is killed and restarted resumes, and work acked
around the outage is neither lost nor redone. Runs its own redis-server on a spare port."""

from __future__ import annotations

import collections
import logging
import shutil
import socket
import subprocess
import threading

import pytest
import redis

import taskq
from taskq.brokers.redis import RedisBroker

from ...helpers import wait_for

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server whose data survives a kill (AOF, fsync on every write)."""

    def __init__(self, directory) -> None:
        self.port = spare_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(up, timeout=10, interval=0.05, message="redis-server up")
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.kill()


def test_worker_resumes_after_redis_restarts(server, queue_name, caplog):
    caplog.set_level(logging.WARNING)
    broker = RedisBroker(url=f"redis://127.0.0.1:{server.port}/0", heartbeat_timeout=2000)
    runs = collections.Counter()
    release = threading.Event()

    @taskq.actor(queue_name=queue_name, broker=broker)
    def work(i):
        runs[i] += 1
        if i == "during the outage":
            release.wait(10)

    worker = taskq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        for i in range(10):
            work.send(i)
        wait_for(lambda: len(runs) == 10, message="first batch")
        work.send("during the outage")
        wait_for(lambda: "during the outage" in runs, message="long task started")

        server.kill()
        release.set()  # the task finishes while Redis is down: its ack must not be lost
        wait_for(
            lambda: any(
                "unreachable" in r.getMessage() or "lost its connection" in r.getMessage()
                for r in caplog.records
            ),
            message="the outage noticed",
        )
        server.start()

        for i in range(10, 20):
            work.send(i)
        wait_for(lambda: len(runs) == 21, timeout=20, message="second batch after restart")
        wait_for(
            lambda: (
                broker.queue_stats()[queue_name]
                == {"ready": 0, "delayed": 0, "in_flight": 0, "dead": 0}
            ),
            message="every message acked, including the one finished during the outage",
        )
        assert broker.client.hlen(f"taskq:{queue_name}.msgs") == 0
    finally:
        worker.stop(timeout=5000)
        broker.close()
    assert set(runs.values()) == {1}, runs
    lost_logs = [r for r in caplog.records if "lost its connection" in r.getMessage()]
    assert len(lost_logs) <= 2  # once per consumer thread, not once per retry
