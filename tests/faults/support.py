"""Helpers of the fault suite: the ``taskq worker`` command as a subprocess, a private
redis-server, process memory, and the per-token processing counts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
RECORD_URL = "redis://127.0.0.1:6379/0"
APP = "tests.faults.fault_app:broker"


def spare_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB."""
    return psutil.Process(pid).memory_info().rss / (1024 * 1024)


class WorkerCLI:
    """``python -m taskq worker ...`` in its own process group, output captured to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait/kill
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskq", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The master's pid."""
        return self.process.pid

    def children(self) -> list[int]:
        """Pids of the live worker processes."""
        try:
            return sorted(
                child.pid
                for child in psutil.Process(self.pid).children()
                if child.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return []

    def wait_children(self, count: int, timeout: float = 60) -> list[int]:
        """Wait until ``count`` worker processes run; returns their pids."""
        return wait_for(
            lambda: (pids := self.children()) and len(pids) >= count and pids,
            timeout=timeout,
            message=f"{count} worker process(es)",
        )

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the master."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def wait(self, timeout: float = 60) -> int:
        """Wait for the master to exit; returns its exit code."""
        try:
            return self.process.wait(timeout)
        finally:
            if not self._log.closed:
                self._log.flush()

    def output(self) -> str:
        """Everything the master and its workers printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until ``text`` was printed; on timeout, fail showing what the worker printed
        (the password tests' rare timeouts have left no other trace of their cause)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                tail = self.output()[-4000:]
                raise AssertionError(f"timed out after {timeout}s waiting for {text!r}:\n{tail}")
            time.sleep(0.05)

    def kill_all(self) -> None:
        """Kill the whole process group (master, workers, orphans) and close the log."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()


def group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    pids = []
    for process in psutil.process_iter(["pid", "status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == pgid:
                pids.append(process.pid)
    return pids


def fault_env(**values: str) -> dict[str, str]:
    """The environment of a worker command: this one plus ``FAULT_*`` values."""
    # Settings an earlier test may have left in this process's environment (the metrics
    # directory of a master that has exited, TASKQ_EVENTS, ...) are not the worker's business.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("TASKQ_", "PROMETHEUS_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env["taskq_prom_port"] = str(spare_port())
    env.update({f"FAULT_{name.upper()}": value for name, value in values.items()})
    return env


class Counts:
    """How often each token was processed, read from the recorder's Redis hash."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = redis.Redis.from_url(RECORD_URL)

    def processed(self, suffix: str = "") -> int:
        """Distinct tokens processed at least once."""
        return int(self.client.hlen(self.key + suffix))

    def all(self, suffix: str = "") -> dict[str, int]:
        """Token -> times processed."""
        raw = self.client.hgetall(self.key + suffix)
        return {k.decode(): int(v) for k, v in raw.items()}

    def duplicates(self) -> dict[str, int]:
        """Tokens processed more than once."""
        return {token: n for token, n in self.all().items() if n > 1}

    def delete(self) -> None:
        """Remove the hashes of this run."""
        for key in self.client.scan_iter(match=self.key + "*"):
            self.client.delete(key)
        self.client.close()


class RedisServer:
    """A private ``redis-server`` on a spare port, persisting every write (AOF, fsync always)
    to ``directory`` so that a restart keeps the data, as a production Redis would."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or spare_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> None:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--dir", str(self.directory),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        password = extra[extra.index("--requirepass") + 1] if "--requirepass" in extra else None
        client = redis.Redis(port=self.port, password=password, socket_connect_timeout=0.5)
        try:
            wait_for(lambda: self._ping(client), timeout=20, message=f"redis-server :{self.port}")
        finally:
            client.close()

    @staticmethod
    def _ping(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Kill the server (SIGKILL: no chance to save anything more)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def wait_exit(pid: int, timeout: float) -> None:
    """Wait until ``pid`` is gone (or a zombie)."""

    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(gone, timeout=timeout, message=f"process {pid} to exit")


def describe(values: dict[str, Any]) -> str:
    """``key=value`` pairs on one line, for the figures a test prints."""
    return " ".join(f"{k}={v}" for k, v in values.items())
