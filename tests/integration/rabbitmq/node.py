"""A second, throwaway RabbitMQ node on spare loopback ports, for fault tests.

It has its own node name, AMQP and distribution ports and data directory, no plugins, and a
``consumer_timeout`` of ``CONSUMER_TIMEOUT_MS`` (checked every second), so tests can stop it,
restart it and trip its delivery timeout without touching the shared server on 5672.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile

from ...factories.rabbitmq import rabbitmqctl
from ...helpers import wait_for

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CONSUMER_TIMEOUT_MS = 3000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SecondNode:
    """Start with :meth:`start`, always :meth:`stop` (it kills the node if it must)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dist_port = free_port()
        self.name = f"taskqtest{os.getpid()}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        self.directory = tempfile.mkdtemp(prefix="taskq-rabbitmq-node-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        d = self.directory
        with open(f"{d}/rabbitmq.conf", "w") as f:
            f.write(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
            f.write(f"consumer_timeout = {CONSUMER_TIMEOUT_MS}\n")
        with open(f"{d}/advanced.config", "w") as f:
            f.write("[{rabbit, [{channel_tick_interval, 1000}]}].\n")
        with open(f"{d}/enabled_plugins", "w") as f:
            f.write("[].\n")
        shutil.chown(d, "rabbitmq", "rabbitmq")
        for name in os.listdir(d):
            shutil.chown(f"{d}/{name}", "rabbitmq", "rabbitmq")
        env = {
            **os.environ,
            "HOME": "/var/lib/rabbitmq",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{d}/mnesia",
            "RABBITMQ_LOG_BASE": f"{d}/log",
            "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": f"{d}/advanced.config",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins",
            "RABBITMQ_PID_FILE": f"{d}/pid",
            "ERL_CRASH_DUMP": f"{d}/erl_crash.dump",
        }
        self.process = subprocess.Popen(
            ["su", "rabbitmq", "-s", "/bin/sh", "-c", RABBITMQ_SERVER],
            env=env,
            cwd=d,
            stdout=open(f"{d}/stdout.log", "wb"),  # noqa: SIM115 - lives as long as the node
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._started, timeout=90, interval=0.5, message=f"RabbitMQ node {self.name}")

    def _started(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            with open(f"{self.directory}/stdout.log", errors="replace") as f:
                raise RuntimeError(f"second RabbitMQ node exited: {f.read()[-2000:]}")
        try:
            rabbitmqctl("await_startup", "--timeout", "5", node=self.name, timeout=20)
        except RuntimeError:
            return False
        return True

    def stop_app(self) -> None:
        rabbitmqctl("stop_app", node=self.name)

    def start_app(self) -> None:
        rabbitmqctl("start_app", node=self.name)
        rabbitmqctl("await_startup", "--timeout", "60", node=self.name)

    def stop(self) -> None:
        if self.process is not None:
            try:
                rabbitmqctl("stop", node=self.name, timeout=60)
                self.process.wait(30)
            except Exception:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)
