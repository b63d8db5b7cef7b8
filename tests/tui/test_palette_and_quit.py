"""The command palette's enqueue entry, and the confirm before quitting with work in flight."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskq.broker import _reset_global_broker
from taskq.message import Message
from taskq_tui.screens.confirm import ConfirmScreen
from taskq_tui.screens.enqueue import EnqueueScreen
from taskq_tui.views.workers import WorkersView
from taskq_tui.worker_groups import GroupSpec

from .pilot_helpers import JOBS_MODULE, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
def jobs_module(tmp_path: Path, queue_name: str) -> Iterator[str]:
    """``tui_jobs`` (echo, boom, nap on ``queue_name``), importable here and by workers."""
    (tmp_path / "tui_jobs.py").write_text(JOBS_MODULE.format(queue=queue_name))
    sys.path.insert(0, str(tmp_path))
    yield "tui_jobs"
    sys.path.remove(str(tmp_path))
    sys.modules.pop("tui_jobs", None)
    _reset_global_broker()


async def test_command_palette_enqueues_to_an_imported_actor(
    make_app: Any, sqlite_broker: Any, jobs_module: str, queue_name: str
) -> None:
    app = make_app(modules=[jobs_module])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "echo" in app.actor_queues, message="the module's actors")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"Enqueue echo")
        await wait_until(
            pilot,
            lambda: (
                "Enqueue echo"
                in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt)
            ),
            message="the palette entry",
        )
        await pilot.press("enter")
        form = await wait_until(pilot, lambda: isinstance(app.screen, EnqueueScreen) and app.screen)
        assert form.query_one("#enqueue-actor").value == "echo"
        assert form.query_one("#enqueue-queue").value == queue_name  # from the imported actor
        form.query_one("#enqueue-args").value = '["from-the-palette"]'
        await pilot.click("#enqueue-submit")
        await wait_until(
            pilot,
            lambda: sqlite_broker.queue_stats().get(queue_name, {}).get("ready") == 1,
            message="the message on the queue",
        )
    sqlite_broker.declare_queue(queue_name)
    consumer = sqlite_broker.consume(queue_name, prefetch=1, timeout=2000)
    try:
        proxy = next(consumer)
        assert proxy is not None
        assert (proxy.actor_name, list(proxy.args)) == ("echo", ["from-the-palette"])
    finally:
        consumer.close()


async def test_quit_asks_first_when_work_is_in_flight(
    make_app: Any, sqlite_broker: Any, jobs_module: str, queue_name: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        group = app.query_one(WorkersView).launch(GroupSpec([jobs_module], processes=1, threads=1))
        await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
        sqlite_broker.declare_queue(queue_name)
        sqlite_broker.enqueue(Message(queue_name=queue_name, actor_name="nap", args=(4,)))
        await wait_until(
            pilot,
            lambda: app.queue_stats.get(queue_name, {}).get("in_flight") == 1,
            message="the nap in flight",
        )
        await pilot.press("q")
        dialog = await wait_until(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen
        )
        assert "1 message(s) are in flight" in dialog.question
        await pilot.press("n")  # cancelled: nothing stops
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.is_running and group.running and group.term_sent == 0

        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")  # graceful: the nap finishes, then the group and the app exit
        await wait_until(pilot, lambda: group.returncode is not None, timeout=30)
        assert group.returncode == 0
    assert sqlite_broker.queue_stats()[queue_name] == {
        "ready": 0,
        "delayed": 0,
        "in_flight": 0,
        "dead": 0,
    }
