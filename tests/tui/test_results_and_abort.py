"""The detail pane shows stored results. Real SQLite broker and workers (abort: test_abort.py)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from taskq.broker import _reset_global_broker
from taskq.message import Message
from taskq_tui.views.workers import WorkersView
from taskq_tui.worker_groups import GroupSpec

from .pilot_helpers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

#: Actors on a broker the module sets up itself, with results kept in ``namespace``.
RESULTS_MODULE = """
import time

import taskq
from taskq.brokers.sqlite import SQLiteBroker
from taskq.middleware.abort import Abortable
from taskq.results import Results
from taskq.results.backends.sqlite import SQLiteBackend

broker = SQLiteBroker({path!r})
broker.add_middleware(Results(backend=SQLiteBackend(path={path!r}, namespace={namespace!r})))
broker.add_middleware(Abortable(interval=100))
taskq.set_broker(broker)


@taskq.actor(queue_name={queue!r}, store_results=True)
def add(a, b):
    return a + b


@taskq.actor(queue_name={queue!r}, store_results=True, max_retries=0)
def nap(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # short sleeps: an abort is raised between them
        time.sleep(0.05)
    return "woke up"
"""


@pytest.fixture
def results_module(tmp_path: Path, queue_name: str) -> Iterator[Any]:
    """``write(namespace)`` writes the module (as ``tui_results_jobs``) and returns its name;
    importing it in this process is undone afterwards."""

    def write(namespace: str) -> str:
        source = RESULTS_MODULE.format(
            path=str(tmp_path / "broker.db"), namespace=namespace, queue=queue_name
        )
        (tmp_path / "tui_results_jobs.py").write_text(source)
        return "tui_results_jobs"

    sys.path.insert(0, str(tmp_path))
    yield write
    sys.path.remove(str(tmp_path))
    module = sys.modules.pop("tui_results_jobs", None)
    if module is not None:
        module.broker.close()
    _reset_global_broker()


def rendered_text(widget: Any) -> str:
    """What a widget draws, as plain text."""
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(widget.render())
    return console.export_text()


def succeeded_row(app: Any, actor: str) -> int | None:
    """Index of the first table row showing a succeeded ``actor`` message, if any."""
    table = app.query_one("#message-table")
    for index in range(table.row_count):
        record = app.messages.get(table.keys[index])
        if record and record.actor_name == actor and record.status == "succeeded":
            return index
    return None


async def show_result_of_add(app: Any, pilot: Any, sqlite_broker: Any, queue_name: str) -> str:
    """Enqueue add(20, 22), wait for its succeeded row, select it, return the result shown."""
    group = app.query_one(WorkersView).launch(
        GroupSpec(["tui_results_jobs"], processes=1, threads=2)
    )
    await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
    sqlite_broker.declare_queue(queue_name)
    sqlite_broker.enqueue(Message(queue_name=queue_name, actor_name="add", args=(20, 22)))
    await pilot.press("2")
    row = await wait_until(
        pilot, lambda: succeeded_row(app, "add") is not None and succeeded_row(app, "add") + 1
    )
    table = app.query_one("#message-table")
    table.focus()
    table.move_cursor(row - 1)
    detail = app.query_one("#message-detail")
    return await wait_until(
        pilot, lambda: detail.stored_result, message="a result in the detail pane"
    )


async def test_results_backend_where_the_broker_keeps_its_data(
    make_app: Any, sqlite_broker: Any, results_module: Any, queue_name: str
) -> None:
    """Only --broker given: the TUI reads results from a backend on the same SQLite file."""
    results_module("taskq-results")  # the namespace a default SQLiteBackend uses
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        shown = await show_result_of_add(app, pilot, sqlite_broker, queue_name)
        assert shown == "42"
        pane = rendered_text(app.query_one("#message-detail"))
        assert "result" in pane and "42" in pane


async def test_results_backend_of_the_imported_module(
    make_app: Any, sqlite_broker: Any, results_module: Any, queue_name: str
) -> None:
    """MODULE given: the module's own broker (and its Results backend) is used; the default
    backend on the file would not find results kept in the module's namespace."""
    module = results_module("module-results")
    app = make_app(modules=[module])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot, lambda: app.controller.module_broker is not None, message="module import"
        )
        assert app.known_actors().get("add") == queue_name
        shown = await show_result_of_add(app, pilot, sqlite_broker, queue_name)
        assert shown == "42"


@pytest.mark.parametrize("kind", ["stub", "sqlite", "redis"])
def test_default_results_backend_lives_where_the_broker_keeps_its_data(kind: str) -> None:
    """Two brokers on the same store (SQLite file, Redis namespace) see each other's results;
    the stub broker keeps them in memory."""
    import importlib

    from taskq.brokers.redis import RedisBroker
    from taskq.brokers.sqlite import SQLiteBroker
    from taskq.results.backends.redis import RedisBackend
    from taskq.results.backends.sqlite import SQLiteBackend
    from taskq.results.backends.stub import StubBackend
    from taskq.results.defaults import default_results_backend

    factory = importlib.import_module(f"tests.factories.{kind}")
    with factory.make_broker() as broker:
        backend = default_results_backend(broker)
        backend.store_result("message-1", {"total": 42}, 60_000)
        if kind == "stub":
            assert isinstance(backend, StubBackend)
            assert backend.get_result("message-1") == {"total": 42}
            return
        if isinstance(broker, SQLiteBroker):
            assert isinstance(backend, SQLiteBackend) and backend.path == broker.path
            other: Any = SQLiteBroker(broker.path)
        else:
            assert isinstance(broker, RedisBroker) and isinstance(backend, RedisBackend)
            assert backend.client is broker.client
            assert backend.namespace == f"{broker.namespace}-results"
            other = RedisBroker(client=broker.client, namespace=broker.namespace)
        try:
            assert default_results_backend(other).get_result("message-1") == {"total": 42}
        finally:
            other.close()
            if kind == "redis":
                keys = list(broker.client.scan_iter(match=f"{broker.namespace}-results:*"))
                broker.client.delete(*keys)
