"""``taskq worker --fork-function MODULE:FUNCTION`` runs FUNCTION in a process of its own beside
the worker processes (Dramatiq's option, with its meaning): started once the workers are ready,
with no signal blocked, and stopped with the master. A middleware's ``forks`` run the same way."""

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


def tail_logs():
    (DIR / "tail-logs").write_text(str(os.getpid()))
    while True:
        time.sleep(1)


class WithSidecar(taskq.Middleware):
    @property
    def forks(self):
        return [tail_logs]


forked_broker = StubBroker(middleware=[WithSidecar()])


@taskq.actor(broker=forked_broker)
def forked_job():
    pass


def sidecar():
    workers = sorted(p.name for p in DIR.glob("worker-*"))
    blocked = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    (DIR / "sidecar").write_text(f"{{os.getpid()}} {{len(workers)}} {{blocked}}")
    while True:
        time.sleep(1)
"""


def start_master(tmp_path, *args: str) -> subprocess.Popen[bytes]:
    (tmp_path / "forkapp.py").write_text(textwrap.dedent(APP.format(directory=str(tmp_path))))
    return subprocess.Popen(
        [sys.executable, "-m", "taskq", "worker", *args, "-t", "1"],
        cwd=tmp_path,
        env={**os.environ, "taskq_prom_port": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_fork_function_runs_in_its_own_process_after_the_workers_start(tmp_path):
    master = start_master(tmp_path, "forkapp:broker", "-p", "2", "-f", "forkapp:sidecar")
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


def test_the_fork_functions_a_middleware_lists_run_once_beside_the_workers(tmp_path):
    master = start_master(tmp_path, "forkapp:forked_broker", "-p", "2")
    try:
        report = tmp_path / "tail-logs"
        wait_for(lambda: report.exists() and report.read_text(), timeout=60, message="tail_logs")
        fork = psutil.Process(int(report.read_text()))
        assert fork.ppid() == master.pid
        # Both worker processes list it; the master runs it once.
        workers = wait_for(lambda: len(psutil.Process(master.pid).children()) == 3, timeout=30)
        assert workers
    finally:
        master.send_signal(signal.SIGTERM)
        assert master.wait(60) == 0
