"""Every notebook in notebooks/ runs top to bottom headless (nbclient) with a real worker
started by the notebook itself, on SQLite, Redis and RabbitMQ (results in Redis through
TASKQ_RESULTS_URL); the outputs hold the expected results."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

from .conftest import KERNEL_NAME  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


#: The broker class each URL scheme makes, as the quickstart notebook prints it.
BROKER_KINDS = {"sqlite": "SQLiteBroker", "redis": "RedisBroker", "amqp": "RabbitmqBroker"}


def execute(name: str, kernelspec: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec))
    monkeypatch.setenv("TASKQ_BROKER_URL", broker_url)
    monkeypatch.delenv("TASKQ_NOTEBOOK_WIDGETS", raising=False)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=240,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def outputs(notebook: Any, source_start: str) -> str:
    """All text of the outputs of the cell whose source starts with ``source_start``."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(source_start):
            parts = []
            for output in cell.outputs:
                if output.get("output_type") == "stream":
                    # One print() may reach the notebook in several stream chunks: keep them
                    # joined exactly as printed.
                    parts.append(output.get("text", ""))
                    continue
                data = output.get("data", {})
                parts.append(f"\n{data.get('text/plain', '')}\n{data.get('text/html', '')}\n")
            return "".join(parts)
    raise AssertionError(f"no cell starts with {source_start!r}")


def assert_no_errors(notebook: Any) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            assert output.get("name") != "stderr" or "Traceback" not in output.text, output.text


def test_quickstart(kernelspec: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute("01-quickstart.ipynb", kernelspec, broker_url, monkeypatch)

    assert_no_errors(nb)
    kind = BROKER_KINDS[broker_url.split(":", 1)[0]]
    assert f"broker: {kind}" in outputs(nb, "import os")
    assert "taskq worker" in outputs(nb, "worker = tqnb.run_worker")
    assert "taskq.Message" in outputs(nb, "messages = [")
    # The live view's output was replaced by the final static table (display update).
    watched = outputs(nb, "w = tqnb.watch(messages)")
    assert "10/10 finished" in watched and "succeeded 10" in watched
    assert "finished: True" in outputs(nb, "finished = await")
    assert "results: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]" in outputs(nb, 'print("results:"')
    assert "succeeded" in outputs(nb, "tqnb.result(messages[3]") and ">6<" in outputs(
        nb, "tqnb.result(messages[3]"
    )
    assert "taskq queues" in outputs(nb, "panel = tqnb.queues()")
    form = outputs(nb, "form = tqnb.enqueue_form")
    assert "sent: 1" in form and "1 sent" in form  # the saved output lists the sent id
    assert "area: 9 m²" in outputs(nb, 'print("area:"')
    assert "worker exit code: 0" in outputs(nb, 'print("worker exit code:"')


def test_fan_out(kernelspec: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute("02-fan-out.ipynb", kernelspec, broker_url, monkeypatch)

    assert_no_errors(nb)
    assert "taskq.group (1000)" in outputs(nb, "jobs = taskq.group")
    assert "1000/1000 finished" in outputs(nb, "w = tqnb.watch(jobs)")
    assert "finished: True {'succeeded': 1000}" in outputs(nb, "finished = w.wait")
    table = outputs(nb, "results = list(")
    assert f"sum of squares: {sum(i * i for i in range(1000))}" in table
    assert "<table" in table and "square" in table and ">81<" in table
    assert "worker exit code: 0" in outputs(nb, 'print("worker exit code:"')


def test_pipelines_and_retries(
    kernelspec: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("03-pipelines-and-retries.ipynb", kernelspec, broker_url, monkeypatch)

    assert_no_errors(nb)
    assert "taskq.pipeline (3)" in outputs(nb, "pipe = (")
    assert "3/3 finished" in outputs(nb, "w = tqnb.watch(pipe)")
    assert "pipeline result: the answer is 42" in outputs(nb, 'print("pipeline result:"')
    retries = " ".join(outputs(nb, "w2.wait(").split())  # stream chunks may split lines
    assert "flaky: ok after 2 retries" in retries
    assert "always_fails: " in retries and "cannot handle 7" in retries
    assert "2/2 finished" in outputs(nb, "retried = ")
    result_table = outputs(nb, "tqnb.result([retried, failing])")
    assert "ok after 2 retries" in result_table and "failed" in result_table
    assert "worker exit code: 0" in outputs(nb, 'print("worker exit code:"')


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited already


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_run_worker_is_stopped_at_kernel_shutdown(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    from ..helpers import wait_for

    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec))
    monkeypatch.setenv("TASKQ_BROKER_URL", f"sqlite:///{tmp_path / 'taskq.db'}")
    notebook = new_notebook(
        cells=[
            new_code_cell(
                "import taskq.notebook as tqnb\n"
                'worker = tqnb.run_worker("nb_actors", threads=1)\n'
                "print('pid:', worker.pid, worker.running)"
            )
        ]
    )
    nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=60,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()  # shuts the kernel down when done

    # The worker's status widget comes first; then what the cell printed.
    printed = next(o.text for o in notebook.cells[0].outputs if o.output_type == "stream").split()
    assert printed[0] == "pid:" and printed[2] == "True"
    pid = int(printed[1])
    try:
        wait_for(
            lambda: not _alive(pid), timeout=20, message=f"worker {pid} to stop with the kernel"
        )
    finally:
        if _alive(pid):  # leave no orphan behind when the assertion fails
            os.kill(pid, signal.SIGKILL)


def test_actors_in_cells(
    kernelspec: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("04-actors-in-cells.ipynb", kernelspec, broker_url, monkeypatch)

    assert_no_errors(nb)
    kind = BROKER_KINDS[broker_url.split(":", 1)[0]]
    assert f"broker: {kind}" in outputs(nb, "import time")
    assert "taskq in-kernel worker" in outputs(nb, "worker = tqnb.run_worker(")
    # The live view was replaced by the final static one once all 500 finished.
    watched = outputs(nb, "sent_at = time.monotonic()")
    assert "500/500 finished" in watched and "succeeded 500" in watched
    assert "finished: True {'succeeded': 500}" in outputs(nb, "finished = await")
    assert "send -> done: " in outputs(nb, "finished = await")
    assert "results in the order sent: True" in outputs(nb, "results = list(")
    # Re-running an actor's cell changes what the next message runs.
    assert "before: hello Ada" in outputs(nb, 'print("before:"')
    assert "after: HELLO ADA!" in outputs(nb, "@taskq.actor(store_results=True)\ndef greet")
    assert "late actor: LATE QUEUE!" in outputs(
        nb, '@taskq.actor(store_results=True, queue_name="later")'
    )
    frame = outputs(nb, "df = w.to_dataframe()")
    assert f"rows: 500 succeeded: 500 sum: {sum(range(500))}" in frame
    if kind != "RabbitmqBroker":  # a fanout exchange keeps no history to catch up from
        assert "timed: 500" in frame  # start and finish times from the events
    assert "<table" in frame and "noop" in frame and "duration_ms" in frame
    stopped = outputs(nb, 'print("processed by the worker:"')
    assert "processed by the worker: 503" in stopped and "worker exit code: 0" in stopped
