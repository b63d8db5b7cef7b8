"""watch(): live widget state, static HTML, blocking / async waits, Stop, terminal fallback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import taskq
from taskq.notebook import queues, watch
from taskq.notebook._widget_views import WatchWidget
from taskq.notebook.watch import TerminalView

from ..helpers import wait_for


def test_widget_tracks_a_group_to_completion(
    actors: SimpleNamespace, worker: Any, widgets_on: None
) -> None:
    jobs = taskq.group(
        [*(actors.add.message(i, 1) for i in range(30)), actors.explode.message(5)]
    ).run()

    view = watch(jobs)

    assert isinstance(view._view, WatchWidget)
    assert view.wait(timeout=30_000) is True
    widget = view._view
    assert widget.progress.value == widget.progress.max == 31
    assert widget.progress.bar_style == "danger"  # one failure
    assert "31/31 finished" in widget.header.value and "(done)" in widget.header.value
    assert widget.stop_button.disabled
    assert view.counts == {"succeeded": 30, "failed": 1}
    assert [view.results[m.message_id] for m in jobs.children[:30]] == [i + 1 for i in range(30)]
    assert "ValueError: boom 5" in view.errors[jobs.children[30].message_id]
    static = view.to_html()
    assert "ValueError: boom 5" in static and static.index("boom 5") < static.index(
        "add(0, 1)"
    )  # failures first
    assert view._repr_mimebundle_()["text/plain"].startswith("31/31 finished")


def test_watch_shows_statuses_from_lifecycle_events(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace, widgets_on: None
) -> None:
    message = actors.add.send(1, 2)
    view = watch([message])
    # No worker yet: the "enqueued" event (or no news at all) leaves it queued.
    assert view.rows[0].status == "queued"
    worker = taskq.Worker(sqlite_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        assert view.wait(timeout=30_000)
    finally:
        worker.stop(timeout=30_000)
    assert view.rows[0].status == "succeeded" and view.rows[0].result == 3
    events = [
        e["event"]
        for e in sqlite_broker.recent_events(limit=100)
        if e["message_id"] == message.message_id
    ]
    assert "started" in events and "succeeded" in events


def test_stop_button_ends_watching_before_completion(
    actors: SimpleNamespace, widgets_on: None
) -> None:
    view = watch([actors.add.send(1)])  # no worker: it would never finish

    view._view.stop_button.click()

    assert view.tracker.stopped and not view.done
    assert view.wait(timeout=1_000) is False
    assert view._view.stop_button.disabled
    assert not view.tracker._thread.is_alive()
    assert "(stopped)" in view.header_html()


def test_wait_async_does_not_block_the_event_loop(
    actors: SimpleNamespace, worker: Any, widgets_on: None
) -> None:
    messages = [actors.add.send(i) for i in range(5)]

    async def main() -> tuple[bool, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        finished = await watch(messages)
        task.cancel()
        return finished, ticks

    finished, ticks = asyncio.run(main())
    assert finished is True
    assert ticks > 0


def test_terminal_fallback_without_widgets(
    actors: SimpleNamespace, worker: Any, widgets_off: None
) -> None:
    view = watch([actors.add.send(20, 22)])

    assert isinstance(view._view, TerminalView)
    assert view.wait(timeout=30_000)
    assert view._view.closed
    assert list(view.results.values()) == [42]
    assert view._view.progress.tasks[0].completed == 1


def test_pipeline_is_watched_step_by_step(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace, worker: Any, widgets_off: None
) -> None:
    pipe = (actors.add.message(1, 2) | actors.add.message(10)).run()

    view = watch(pipe)

    assert view.wait(timeout=30_000)
    assert [view.results[m.message_id] for m in pipe.messages] == [3, 13]


def test_queues_panel_shows_depths_and_refreshes(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace, widgets_on: None
) -> None:
    for i in range(3):
        actors.add.send(i)
    panel = queues(sqlite_broker, interval=50)
    try:
        assert panel.stats["default"]["ready"] == 3
        assert "<td" in panel._widget.html.value and ">3<" in panel._widget.html.value
        worker = taskq.Worker(sqlite_broker, worker_timeout=100, worker_threads=2)
        worker.start()
        try:
            wait_for(
                lambda: panel.stats["default"]["ready"] == 0, timeout=10, message="queue drained"
            )
        finally:
            worker.stop(timeout=30_000)

        def drained_after_refresh_click() -> bool:
            panel._widget.refresh_button.click()
            return panel.stats["default"]["ready"] == panel.stats["default"]["in_flight"] == 0

        wait_for(drained_after_refresh_click, timeout=10, message="refresh shows nothing left")
        assert ">3<" not in panel._widget.html.value
    finally:
        panel._widget.stop_button.click()
    assert panel._stopped.is_set() and panel._widget.stop_button.disabled


def test_importing_taskq_does_not_import_ipywidgets() -> None:
    code = "import sys, taskq; print('ipywidgets' in sys.modules, 'taskq.notebook' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    code = "import sys, taskq.notebook; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


NO_IPYWIDGETS = """
import sys
sys.modules["ipywidgets"] = None  # as if it were not installed
import taskq
from taskq.brokers.stub import StubBroker
from taskq.notebook import enqueue_form, setup_broker, watch

broker = setup_broker(StubBroker())

@taskq.actor(store_results=True)
def add(x: int, y: int = 0) -> int:
    return x + y

worker = taskq.Worker(broker, worker_timeout=100)
worker.start()
view = watch([add.send(i, 1) for i in range(5)])
print("finished", view.wait(timeout=30_000), type(view._view).__name__, sorted(view.results.values()))
try:
    enqueue_form(add)
except ImportError as e:
    print("form:", e)
worker.stop()
"""


def test_without_ipywidgets_watch_falls_back_to_a_terminal_progress_bar() -> None:
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("TASKQ_NOTEBOOK_WIDGETS", None)
    out = subprocess.run(
        [sys.executable, "-c", NO_IPYWIDGETS], capture_output=True, text=True, timeout=60, env=env
    )

    assert out.returncode == 0, out.stderr
    assert "finished True TerminalView [1, 2, 3, 4, 5]" in out.stdout
    assert (
        "form: taskq.notebook.enqueue_form needs ipywidgets: pip install 'taskq[notebook]'"
        in out.stdout
    )
    assert "5/5" in out.stderr and "succeeded 5" in out.stderr  # the rich progress bar
