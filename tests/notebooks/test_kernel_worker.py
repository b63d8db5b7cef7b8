"""run_worker() with no module: a worker in this process serving actors defined later and
redefined, on every broker and under gevent; in a real kernel, neither an interrupt nor a
shutdown cuts a message short."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskq
from taskq.broker import _reset_global_broker
from taskq.notebook import run_worker, watch
from taskq.notebook._widget_views import StatusWidget
from taskq.notebook.kernel_worker import KernelWorker
from taskq.results import ResultFailure
from taskq.urls import broker_from_url

from ..helpers import wait_for
from .conftest import KERNEL_NAME


@pytest.fixture
def url_broker(broker_url: str) -> Iterator[taskq.Broker]:
    """A broker built from the URL as a notebook would (results by default)."""
    broker = broker_from_url(broker_url)
    try:
        yield broker
    finally:
        _reset_global_broker()
        broker.close()


def test_actors_defined_after_start_and_redefined_run(
    url_broker: taskq.Broker, widgets_on: None
) -> None:
    worker = run_worker(threads=4, broker=url_broker)
    assert isinstance(worker, KernelWorker)
    widget = worker._view
    assert isinstance(widget, StatusWidget)
    try:
        # Defined after the worker started, as in a later cell.
        @taskq.actor(broker=url_broker, store_results=True)
        def scale(x: int) -> int:
            return 2 * x

        assert scale.send(21).get_result(block=True, timeout=30_000) == 42

        # Re-running the cell: the next message runs the new function.
        @taskq.actor(broker=url_broker, store_results=True)  # type: ignore[no-redef]
        def scale(x: int) -> int:  # noqa: F811
            return 3 * x

        assert scale.send(21).get_result(block=True, timeout=30_000) == 63

        # A queue declared after the worker started is consumed too.
        @taskq.actor(broker=url_broker, store_results=True, queue_name="nb-late")
        def negate(x: int) -> int:
            return -x

        assert negate.send(5).get_result(block=True, timeout=30_000) == -5

        @taskq.actor(broker=url_broker, store_results=True, max_retries=0)
        def explode() -> None:
            raise ValueError("boom in a cell")

        with pytest.raises(ResultFailure):
            explode.send().get_result(block=True, timeout=30_000)
        wait_for(lambda: worker.processed == 4 and worker.failed == 1, timeout=10)
        assert "nb-late" in worker.queues and "negate" in worker.actors
        wait_for(lambda: "processed 4" in widget.html.value, timeout=10, message="a redraw")
        assert "explode: ValueError: boom in a cell" in worker.to_text()
        assert worker.busy == 0
    finally:
        assert worker.stop(timeout=10_000) == 0
    assert not worker.running
    assert widget.stop_button.disabled and "stopped" in widget.html.value
    assert worker.stats not in url_broker.middleware  # nothing left on the broker
    assert worker.stop() == 0  # idempotent


def test_terminal_fallback_is_text(url_broker: taskq.Broker, widgets_off: None) -> None:
    worker = run_worker(threads=1, broker=url_broker)
    try:
        assert worker._view is None
        assert repr(worker).startswith("<taskq in-kernel worker running · 0/1 threads busy")
        assert "<b>taskq in-kernel worker</b>" in worker._repr_html_()
    finally:
        worker.stop()


def test_running_the_worker_cell_again_replaces_the_worker(
    sqlite_broker: taskq.Broker, widgets_off: None
) -> None:
    first = run_worker(threads=1, broker=sqlite_broker)
    second = run_worker(threads=1, broker=sqlite_broker)
    try:
        assert not first.running and second.running
    finally:
        second.stop()


def test_run_worker_refuses_a_broker_with_a_module(sqlite_broker: taskq.Broker) -> None:
    with pytest.raises(TypeError, match="only without a module"):
        run_worker("nb_actors", broker=sqlite_broker)  # type: ignore[call-overload]


# -- a real kernel --------------------------------------------------------------------------
SETUP = """
import time
import taskq
import taskq.notebook as tqnb

worker = tqnb.run_worker(threads=4)
runs = []

@taskq.actor(store_results=True)
def slow(i):
    runs.append(i)
    time.sleep(1.5)  # the work itself: long enough for the interrupt to land mid-message
    return i

messages = [slow.send(i) for i in range(4)]
"""
BLOCKING_CELL = """
deadline = time.monotonic() + 30
while len(runs) < 4 and time.monotonic() < deadline:
    time.sleep(0.01)
print("all started:", len(runs), flush=True)
time.sleep(60)  # interrupted by the test
"""
CHECK = """
print("results:", [m.get_result(block=True, timeout=30_000) for m in messages])
print("runs:", sorted(runs), "processed:", worker.processed, "failed:", worker.failed)
print("exit code:", worker.stop())
"""


def _stream_text(client: Any, msg_id: str, timeout: float = 60) -> Iterator[str]:
    """Stream output of the request ``msg_id`` until it went idle."""
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            yield msg["content"]["text"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return


def _run(client: Any, code: str) -> str:
    msg_id = client.execute(code)
    text = "".join(_stream_text(client, msg_id))
    reply = client.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    return text


def test_interrupting_the_kernel_does_not_cut_messages_short(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupyter_client = pytest.importorskip("jupyter_client")
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec))
    monkeypatch.setenv("TASKQ_BROKER_URL", f"sqlite:///{tmp_path / 'taskq.db'}")
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name=KERNEL_NAME)
    try:
        _run(client, SETUP)
        msg_id = client.execute(BLOCKING_CELL)
        stream = _stream_text(client, msg_id)
        assert "all started: 4" in next(stream)
        manager.interrupt_kernel()  # Ctrl-C / "interrupt kernel" while 4 messages run
        "".join(stream)
        reply = client.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"

        out = _run(client, CHECK)  # the kernel and its worker carry on
        assert "results: [0, 1, 2, 3]" in out
        assert "runs: [0, 1, 2, 3] processed: 4 failed: 0" in out  # each ran once, whole
        assert "exit code: 0" in out
    finally:
        try:
            client.stop_channels()
        finally:
            manager.shutdown_kernel(now=True)


SHUTDOWN_SETUP = """
import time
import taskq
import taskq.notebook as tqnb

worker = tqnb.run_worker(threads=2)
runs = []

@taskq.actor(store_results=True)
def slow(i):
    runs.append(i)
    time.sleep(1.0)  # the work itself: still running when the kernel is asked to shut down
    return i * 10

messages = [slow.send(i) for i in range(2)]
deadline = time.monotonic() + 30
while len(runs) < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
print("ids:", *(m.message_id for m in messages))
"""


def test_kernel_shutdown_lets_running_messages_finish(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupyter_client = pytest.importorskip("jupyter_client")
    url = f"sqlite:///{tmp_path / 'taskq.db'}"
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec))
    monkeypatch.setenv("TASKQ_BROKER_URL", url)
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name=KERNEL_NAME)
    try:
        out = _run(client, SHUTDOWN_SETUP)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)  # a graceful shutdown, as from the Jupyter UI
    ids = out.split("ids:", 1)[1].split()
    assert len(ids) == 2

    broker = broker_from_url(url)
    try:
        view = watch(ids, broker=broker)
        assert view.wait(timeout=10_000)
        assert sorted(view.results.values()) == [0, 10]  # both finished, none cut short
    finally:
        view.close()
        broker.close()


GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import time
import taskq, taskq.notebook as tqnb

worker = tqnb.run_worker(threads=20)

@taskq.actor(store_results=True)
def nap(i):
    time.sleep(0.5)  # patched: the greenlet yields while it naps
    return i

jobs = taskq.group(nap.message(i) for i in range(20)).run()
print("results:", list(jobs.get_results(block=True, timeout=30_000)) == list(range(20)))

@taskq.actor(store_results=True)
def nap(i):
    return -i

print("redefined:", nap.send(3).get_result(block=True, timeout=10_000))
print("exit code:", worker.stop())
"""


def test_under_gevent_the_worker_runs_greenlets(tmp_path: Path) -> None:
    pytest.importorskip("gevent")
    env = {**os.environ, "TASKQ_BROKER_URL": f"sqlite:///{tmp_path / 'taskq.db'}"}
    env.pop("TASKQ_NOTEBOOK_WIDGETS", None)
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "results: True" in done.stdout
    assert "redefined: -3" in done.stdout and "exit code: 0" in done.stdout
