"""The embedded SQLite default under many processes: producers that come and go, two worker
groups on one file, a worker child killed with SIGKILL. Nothing is lost, every result is
readable and the file passes ``PRAGMA integrity_check``."""

from __future__ import annotations

import collections
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import wait_for

from .support import ROOT, WorkerCLI

PRODUCERS, PER_PRODUCER = 8, 300
APP = "tests.faults.sqlite_stress_app:broker"


def _runs(folder) -> list[int]:
    return [int(line) for log in folder.glob("*.log") for line in log.read_text().split()]


def _rows(database) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT COUNT(*) FROM taskq_messages").fetchone()[0]


@pytest.mark.faults
@pytest.mark.slow
def test_producers_two_groups_and_a_kill_lose_nothing(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TASKQ_")},
        "STRESS_DB": str(tmp_path / "taskq.db"),
        "STRESS_RUNS": str(runs),
        "taskq_prom_port": "0",
    }
    first = WorkerCLI(env, tmp_path / "first.log", APP, "-p", "2", "-t", "4")
    second = None
    producers = []
    try:
        first.wait_children(2)
        producers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.faults.sqlite_stress_app", "produce"]
                + [str(n * PER_PRODUCER), str(PER_PRODUCER)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(PRODUCERS)
        ]
        total = PRODUCERS * PER_PRODUCER
        wait_for(lambda: len(_runs(runs)) >= total // 2, timeout=120, message="half the runs")
        os.kill(first.children()[0], signal.SIGKILL)
        second = WorkerCLI(env, tmp_path / "second.log", APP, "-p", "2", "-t", "4")
        outcomes = [producer.communicate(timeout=240) for producer in producers]
        assert [p.returncode for p in producers] == [0] * PRODUCERS, outcomes
        assert [int(out) for out, _ in outcomes] == [PER_PRODUCER] * PRODUCERS
        # A message the killed child ran (result stored) but never acked stays leased until
        # its lease expires and a live worker runs and acks it again: wait for that.
        wait_for(lambda: _rows(tmp_path / "taskq.db") == 0, timeout=60, message="every ack")
    finally:
        for producer in producers:
            if producer.poll() is None:
                producer.kill()
        for group in (first, second):
            if group is not None:
                group.signal(signal.SIGTERM)
    try:
        assert first.wait(60) == 0, first.output()
        assert second is not None and second.wait(60) == 0, second.output()
    finally:
        for group in (first, second):
            if group is not None:
                group.kill_all()
    seen = collections.Counter(_runs(runs))
    lost = set(range(total)) - set(seen)
    duplicated = sum(count - 1 for count in seen.values())
    print(f"sent={total} run={sum(seen.values())} duplicated={duplicated} lost={len(lost)}")
    assert not lost
    with sqlite3.connect(tmp_path / "taskq.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("SELECT COUNT(*) FROM taskq_messages").fetchone() == (0,)
