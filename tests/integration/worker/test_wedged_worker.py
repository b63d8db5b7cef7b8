"""A worker process whose broker calls keep failing is noticed by the master and replaced, with
a log line saying why; a healthy one, idle or busy with a long message, never is."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers import wait_for

from .conftest import App, is_running

#: The application: an SQLite broker whose consumers, in the process named by the ``wedge``
#: file, fail every fetch (``fetch PID``) or every ack (``ack PID``) as a damaged file would.
WEDGE_APP = """
import os
import pathlib
import time

import taskq
from taskq.brokers.sqlite import SQLiteBroker

DIR = pathlib.Path(os.environ["APP_DIR"])


def wedged(mode):
    try:
        kind, pid = (DIR / "wedge").read_text().split()
    except (OSError, ValueError):
        return False
    return kind == mode and int(pid) == os.getpid()


class WedgingBroker(SQLiteBroker):
    def consume(self, queue_name, prefetch=1, timeout=1000):
        consumer = super().consume(queue_name, prefetch=prefetch, timeout=timeout)
        base = type(consumer)

        class WedgingConsumer(base):
            def __next__(self):
                if wedged("fetch"):
                    time.sleep(0.2)
                    raise RuntimeError("database disk image is malformed (simulated)")
                return super().__next__()

            def ack(self, message):
                if wedged("ack"):
                    self._settle([message._fetch_state])  # as a failed DELETE does
                    raise RuntimeError("database disk image is malformed (simulated)")
                super().ack(message)

        consumer.__class__ = WedgingConsumer
        return consumer


taskq.set_broker(WedgingBroker(DIR / "q.db", visibility_timeout=2000))


@taskq.actor(max_retries=0)
def work(n):
    with open(DIR / "events.log", "a") as f:
        f.write(f"done {n} {os.getpid()}\\n")


@taskq.actor(max_retries=0)
def block(n):
    with open(DIR / "events.log", "a") as f:
        f.write(f"start {n} {os.getpid()}\\n")
    while not (DIR / "release").exists():
        time.sleep(0.02)
    with open(DIR / "events.log", "a") as f:
        f.write(f"done {n} {os.getpid()}\\n")
"""

TIMEOUT_MS = 3000


def info_pids(app: App) -> set[int]:
    """Pids of the live workers ``taskq info`` lists for the app's file."""
    result = subprocess.run(
        [sys.executable, "-m", "taskq", "info", "--json", "--broker", app.url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {int(worker["pid"]) for worker in json.loads(result.stdout)["workers"]}


def start(app: App, processes: int) -> tuple[subprocess.Popen[bytes], list[int]]:
    app.write_raw_module("wedge_app", WEDGE_APP)
    master = app.start_worker(
        "-p", str(processes), "-t", "2", "--heartbeat-timeout", str(TIMEOUT_MS), module="wedge_app"
    )
    return master, app.wait_started(master, processes)


@pytest.mark.parametrize(("mode", "processes"), [("fetch", 2), ("ack", 1)])
def test_a_wedged_worker_process_is_replaced_and_info_agrees(
    app: App, mode: str, processes: int
) -> None:
    master, pids = start(app, processes)
    victim, siblings = pids[0], set(pids[1:])
    (app.directory / "wedge").write_text(f"{mode} {victim}")
    if mode == "ack":
        app.enqueue("work", range(20))

    def replaced() -> list[int] | None:
        children = app.live_children(master)
        fresh = [pid for pid in children if pid not in pids]
        return children if fresh and victim not in children else None

    children = wait_for(
        replaced, timeout=30, interval=0.1, message="the wedged worker process replaced"
    )
    output = app.output(master)
    assert f"Worker process {victim} sent no heartbeat for" in output
    assert "--heartbeat-timeout 3000 ms" in output
    assert f"Worker process {victim} was stopped (no heartbeat for" in output
    assert "Worker process stuck:" in output  # the victim's own line says what was stuck
    assert siblings <= set(children), "a healthy sibling was replaced too"
    assert not is_running(victim)
    # The broker's worker heartbeats agree with the processes that run.
    wait_for(
        lambda: info_pids(app) == set(app.live_children(master)),
        timeout=30,
        interval=0.5,
        message="taskq info to list exactly the running worker processes",
    )
    if mode == "ack":  # nothing was lost: the messages whose acks failed ran again
        wait_for(
            lambda: {int(e[1]) for e in app.events("done")} >= set(range(20)),
            timeout=30,
            message="every message to run",
        )


def test_healthy_worker_processes_idle_or_busy_are_never_replaced(app: App) -> None:
    master, pids = start(app, 2)
    app.enqueue("block", [1, 2])  # two long messages: at least one process runs one
    wait_for(lambda: len(app.events("start")) == 2, timeout=30, message="both blocks started")
    # Absence of a replacement needs a span of time: three heartbeat timeouts, polled.
    deadline = time.monotonic() + 3 * TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        assert sorted(app.live_children(master)) == sorted(pids)
        time.sleep(0.2)
    app.release()
    wait_for(lambda: len(app.events("done")) == 2, timeout=30, message="both blocks done")
    assert "sent no heartbeat" not in app.output(master)
    assert "Worker process stuck" not in app.output(master)
