"""Every notebook in notebooks/ runs top to bottom headless (nbclient) with a real worker
started by the notebook itself, on SQLite, Redis and RabbitMQ (results in Redis through
TASKQ_RESULTS_URL); the outputs hold the expected results."""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
KERNEL_NAME = "taskq-notebook-tests"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec running this very interpreter (the .venv's), found through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "taskq tests",
                "language": "python",
            }
        )
    )
    return root


#: The broker class each URL scheme makes, as the quickstart notebook prints it.
BROKER_KINDS = {"sqlite": "SQLiteBroker", "redis": "RedisBroker", "amqp": "RabbitmqBroker"}


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def broker_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """sqlite: a file in tmp_path; redis: a namespace of its own, deleted afterwards;
    rabbitmq: a vhost of its own, with results in a Redis namespace of their own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'taskq.db'}"
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    namespace = f"nbtest-{uuid.uuid4().hex[:10]}"
    try:
        if request.param == "redis":
            yield f"{REDIS_URL}?namespace={namespace}"
        else:
            from ..factories.rabbitmq import temporary_vhost

            monkeypatch.setenv("TASKQ_RESULTS_URL", f"{REDIS_URL}?namespace={namespace}")
            with temporary_vhost() as vhost:
                yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


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

    printed = notebook.cells[0].outputs[0].text.split()
    assert printed[0] == "pid:" and printed[2] == "True"
    pid = int(printed[1])
    try:
        wait_for(
            lambda: not _alive(pid), timeout=20, message=f"worker {pid} to stop with the kernel"
        )
    finally:
        if _alive(pid):  # leave no orphan behind when the assertion fails
            os.kill(pid, signal.SIGKILL)
