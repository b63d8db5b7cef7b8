"""``taskq worker --fork-function MODULE:FUNCTION`` runs FUNCTION in a process of its own beside
the worker processes (Dramatiq's option, with its meaning): started once the workers are ready,
with no signal blocked, and stopped with the master."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil

from tests.helpers import wait_for

APP = """
import os
import pathlib
import signal
import time

import taskq
from taskq.brokers.stub import StubBroker

DIR = pathlib.Path({directory!r})


class Boot(taskq.Middleware):
    def after_process_boot(self, broker):
        (DIR / f"worker-{{os.getpid()}}").touch()


broker = StubBroker()
broker.add_middleware(Boot())


@taskq.actor(broker=broker)
def job():
    pass


def sidecar():
    workers = sorted(p.name for p in DIR.glob("worker-*"))
    blocked = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    (DIR / "sidecar").write_text(f"{{os.getpid()}} {{len(workers)}} {{blocked}}")
    while True:
        time.sleep(1)
"""


def test_a_fork_function_runs_in_its_own_process_after_the_workers_start(tmp_path):
    (tmp_path / "forkapp.py").write_text(textwrap.dedent(APP.format(directory=str(tmp_path))))
    env = {**os.environ, "taskq_prom_port": "0"}
    argv = ["worker", "forkapp:broker", "-p", "2", "-t", "1", "--fork-function", "forkapp:sidecar"]
    master = subprocess.Popen(
        [sys.executable, "-m", "taskq", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        report = tmp_path / "sidecar"
        wait_for(lambda: report.exists() and report.read_text(), timeout=60, message="sidecar")
        pid, workers_ready, blocked = report.read_text().split(" ", 2)
        assert workers_ready == "2"  # both worker processes had booted before it started
        assert blocked == "[]"
        sidecar = psutil.Process(int(pid))
        assert sidecar.ppid() == master.pid
    finally:
        master.send_signal(signal.SIGTERM)
        assert master.wait(60) == 0
    assert not psutil.pid_exists(int(pid)) or sidecar.status() == psutil.STATUS_ZOMBIE
