"""Run the real ``taskq worker`` command as a subprocess against a real SQLite broker file.

Every test gets its own directory (the application module, the queue file, an ``events.log``
the actors append to); every process a test starts is killed (with its whole process group)
when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from taskq.message import Message
from tests.helpers import wait_for

#: The application module most tests run: actors append what they do to events.log.
APP_SOURCE = """
import os
import pathlib
import time

import taskq
from taskq.middleware import Shutdown, TimeLimitExceeded

DIR = pathlib.Path(os.environ["APP_DIR"])
VERSION = "{version}"
{broker_setup}

def record(*words):
    with open(DIR / "events.log", "a") as f:
        f.write(" ".join(str(w) for w in words) + "\\n")


record("import", VERSION, os.getpid())


def wait_for_release(seconds=60):
    deadline = time.monotonic() + seconds
    while not (DIR / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@taskq.actor(max_retries=0)
def work(n):
    record("done", n, VERSION, os.getpid())


@taskq.actor(max_retries=0)
def block(n):
    record("start", n, os.getpid())
    wait_for_release()
    record("done", n, os.getpid())


@taskq.actor(max_retries=0, notify_shutdown=True)
def long_job(n):
    record("start", n, os.getpid())
    try:
        wait_for_release()
    except Shutdown:
        record("shutdown", n, os.getpid())
        raise
    record("done", n, os.getpid())


@taskq.actor(max_retries=0, time_limit=300)
def overrun(n):
    record("start", n, os.getpid())
    try:
        wait_for_release(30)
    except TimeLimitExceeded:
        record("time_limit", n, os.getpid())
        raise


IN_FLIGHT = 0
MOST_IN_FLIGHT = 0


@taskq.actor(max_retries=0)
def io_bound(n):
    global IN_FLIGHT, MOST_IN_FLIGHT
    IN_FLIGHT += 1
    MOST_IN_FLIGHT = max(MOST_IN_FLIGHT, IN_FLIGHT)
    time.sleep(0.1)
    IN_FLIGHT -= 1
    record("done", n, MOST_IN_FLIGHT)


@taskq.actor(max_retries=0)
def crunch(n):
    time.sleep(0.002)
    record("done", n, os.getpid())
"""

#: Broker set-up lines for APP_SOURCE; the default uses --broker / TASKQ_BROKER_URL.
FROM_URL = ""
OWN_SQLITE_BROKER = """
from taskq.brokers.sqlite import SQLiteBroker
broker = SQLiteBroker(DIR / "q.db", visibility_timeout=1000)
taskq.set_broker(broker)
"""


class App:
    """A test application in its own directory, and the worker processes running it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.db_path = directory / "q.db"
        self.url = f"sqlite:///{self.db_path}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self._outputs: dict[int, Path] = {}

    # -- the application --------------------------------------------------------------------
    def write_module(
        self, name: str = "app", *, version: str = "v1", broker_setup: str = FROM_URL
    ) -> None:
        """(Re)write the module ``name``; a different ``version`` changes what it records."""
        source = APP_SOURCE.format(version=version, broker_setup=broker_setup)
        (self.directory / f"{name}.py").write_text(textwrap.dedent(source))

    def write_raw_module(self, name: str, source: str) -> None:
        (self.directory / f"{name}.py").write_text(textwrap.dedent(source))

    # -- the command ------------------------------------------------------------------------
    def start(self, *args: str, command: list[str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``taskq ARGS`` (or ``command ARGS``) in the app directory, output to a file."""
        argv = [*(command or [sys.executable, "-m", "taskq"]), *args]
        output = self.directory / f"output-{len(self.processes)}.log"
        env = {**os.environ, "APP_DIR": str(self.directory), "PYTHONUNBUFFERED": "1"}
        env["taskq_prom_port"] = "0"  # never fight over the default metrics port
        env.pop("TASKQ_BROKER_URL", None)
        with open(output, "wb") as sink:
            process = subprocess.Popen(
                argv,
                cwd=self.directory,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.processes.append(process)
        self._outputs[process.pid] = output
        return process

    def start_worker(self, *args: str, module: str = "app") -> subprocess.Popen[bytes]:
        """``taskq worker MODULE --broker sqlite:///... --shutdown-timeout 10000 ARGS``."""
        return self.start(
            "worker", module, "--broker", self.url, "--shutdown-timeout", "10000", *args
        )

    def output(self, process: subprocess.Popen[bytes]) -> str:
        return self._outputs[process.pid].read_text(errors="replace")

    def wait_exit(self, process: subprocess.Popen[bytes], timeout: float = 30) -> int:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"taskq did not exit within {timeout}s; output:\n{self.output(process)}"
            ) from None

    def wait_started(
        self, process: subprocess.Popen[bytes], count: int = 1, *, alive: int | None = None
    ) -> list[int]:
        """Wait until ``count`` worker processes have started since the command started and
        ``alive`` (default ``count``) run now; returns the pids of the running ones."""
        alive = count if alive is None else alive

        def started() -> list[int] | None:
            if process.poll() is not None:
                raise AssertionError(f"taskq exited early:\n{self.output(process)}")
            pids = self.live_children(process)
            lines = self.output(process).count("Worker process started")
            return pids if lines >= count and len(pids) == alive else None

        return wait_for(started, timeout=30, message=f"{count} worker process(es) to start")

    @staticmethod
    def live_children(process: subprocess.Popen[bytes]) -> list[int]:
        """Pids of the running (not zombie) child processes of ``process``."""
        try:
            children = psutil.Process(process.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if _is_running(c.pid)]

    # -- the queue and what the actors did ------------------------------------------------------
    def enqueue(self, actor_name: str, numbers: range | list[int], queue: str = "default") -> None:
        from taskq.brokers.sqlite import SQLiteBroker

        broker = SQLiteBroker(self.db_path)
        try:
            broker.declare_queue(queue)
            broker.enqueue_many(
                [Message(queue_name=queue, actor_name=actor_name, args=(n,)) for n in numbers]
            )
        finally:
            broker.close()

    def queue_stats(self, queue: str = "default") -> dict[str, int]:
        from taskq.brokers.sqlite import SQLiteBroker

        broker = SQLiteBroker(self.db_path)
        try:
            return broker.queue_stats().get(queue, {})
        finally:
            broker.close()

    def events(self, kind: str | None = None) -> list[list[str]]:
        """Lines of events.log split into words, optionally only those starting with ``kind``."""
        path = self.directory / "events.log"
        if not path.exists():
            return []
        text = path.read_text()
        # A line being appended right now may be read half-written: only complete lines count.
        complete = text[: text.rfind("\n") + 1]
        lines = [line.split() for line in complete.splitlines() if line.strip()]
        return [line for line in lines if kind is None or line[0] == kind]

    def change_module_and_wait_for_reload(self, master: subprocess.Popen[bytes]) -> None:
        """Once ``master`` watches the directory, rewrite the module (version ``v2-watched``)
        and wait until a worker process has imported the new code."""
        wait_for(lambda: "Watching" in self.output(master))
        self.write_module(version="v2-watched")
        wait_for(
            lambda: any(e[1] == "v2-watched" for e in self.events("import")),
            message="the worker process to import the changed code",
        )

    def release(self) -> None:
        """Let every ``block``/``long_job`` message finish."""
        (self.directory / "release").touch()

    def kill_all(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                process.wait(10)


def _is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    return _is_running(pid)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """A fresh application directory; kills every process the test started."""
    application = App(tmp_path)
    try:
        yield application
    finally:
        application.kill_all()


def send(process: Any, signum: int) -> None:
    """Send ``signum`` to ``process`` (a Popen or a pid)."""
    os.kill(getattr(process, "pid", process), signum)
