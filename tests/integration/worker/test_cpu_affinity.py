"""``taskq worker`` keeps each worker process, every thread of it, on one core (with batch
scheduling) when the group has at least as many processes as usable cores, and leaves them
free otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import wait_for

from .conftest import App

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux-only"
)

CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_two_cores = pytest.mark.skipif(len(CORES) < 2, reason="needs two usable cores")


def thread_cores(pid: int) -> dict[int, set[int]]:
    """The cores each thread of process ``pid`` may run on, by thread id."""
    return {int(tid): os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def thread_policies(pid: int) -> set[int]:
    """The scheduling policies of the threads of process ``pid``."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def run_jobs(app: App, worker: subprocess.Popen[bytes], count: int) -> None:
    app.enqueue("work", range(count))
    wait_for(lambda: len(app.events("done")) == count, timeout=30, message="the jobs to run")
    assert worker.poll() is None


@needs_two_cores
def test_one_process_per_core_keeps_each_process_and_its_threads_on_its_own_core(app: App):
    app.write_module()
    worker = app.start_worker("-p", str(len(CORES)), "-t", "4")
    children = app.wait_started(worker, len(CORES))
    run_jobs(app, worker, 20)  # every worker thread has started by now
    pinned = []
    for pid in children:
        threads = thread_cores(pid)
        assert len(threads) >= 5, threads  # the main thread, a consumer and 4 worker threads
        (core,) = {frozenset(cores) for cores in threads.values()}
        assert len(core) == 1, f"process {pid} may run on {sorted(core)}"
        pinned.extend(core)
        assert thread_policies(pid) == {os.SCHED_BATCH}
    assert sorted(pinned) == CORES
    assert os.sched_getscheduler(worker.pid) == os.SCHED_OTHER  # the master is left alone


@needs_two_cores
def test_fewer_processes_than_cores_leave_the_process_free(app: App):
    app.write_module()
    worker = app.start_worker("-p", "1", "-t", "2")
    (child,) = app.wait_started(worker)
    run_jobs(app, worker, 5)
    assert all(cores == set(CORES) for cores in thread_cores(child).values())
    assert thread_policies(child) == {os.SCHED_OTHER}


@needs_two_cores
def test_cpu_affinity_off_leaves_every_process_free(app: App):
    app.write_module()
    worker = app.start_worker("-p", str(len(CORES)), "-t", "2", "--cpu-affinity", "off")
    children = app.wait_started(worker, len(CORES))
    run_jobs(app, worker, 5)
    for pid in children:
        assert all(cores == set(CORES) for cores in thread_cores(pid).values())
        assert thread_policies(pid) == {os.SCHED_OTHER}


def test_an_unknown_cpu_affinity_exits_2_naming_the_choices(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "taskq", "worker", "app", "--cpu-affinity", "sometimes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--cpu-affinity: invalid choice: 'sometimes'" in done.stderr
    assert "'auto', 'off'" in done.stderr
