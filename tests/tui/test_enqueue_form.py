"""The enqueue form refuses an actor that no loaded module declares, and sends nothing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from taskq.broker import _reset_global_broker
from taskq_tui.screens.enqueue import EnqueueScreen

from .pilot_helpers import JOBS_MODULE, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
def jobs_module(tmp_path: Path, queue_name: str) -> Iterator[str]:
    """A module of actors (echo, boom, nap on the test's queue) in the app's working folder."""
    name = f"tui_form_{queue_name}"
    (tmp_path / f"{name}.py").write_text(JOBS_MODULE.format(queue=queue_name))
    yield name
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)
    _reset_global_broker()


def ready(broker: Any, queue_name: str) -> int:
    return int(broker.queue_stats().get(queue_name, {}).get("ready", 0))


def error_text(form: EnqueueScreen) -> str:
    return str(form.query_one("#enqueue-error", Static).render())


async def test_an_unknown_actor_is_refused_inline_and_nothing_is_sent(
    make_app: Any, jobs_module: str, sqlite_broker: Any, queue_name: str
) -> None:
    app = make_app(modules=[jobs_module])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "echo" in app.actor_queues, message="module imported")
        await pilot.press("4")
        await pilot.press("e")
        form = await wait_until(pilot, lambda: isinstance(app.screen, EnqueueScreen) and app.screen)
        form.query_one("#enqueue-actor").value = "ecoh"
        form.query_one("#enqueue-queue").value = queue_name
        form.query_one("#enqueue-actor").focus()
        await pilot.press("enter")  # submits the form, as the Enqueue button does
        await wait_until(pilot, lambda: "ecoh" in error_text(form), message="the error")

        assert app.screen is form  # still open, showing why
        error = error_text(form)
        assert "no loaded module declares 'ecoh'" in error
        assert "Did you mean echo?" in error
        assert "Known actors: boom, echo, nap" in error
        assert ready(sqlite_broker, queue_name) == 0
        assert not [n for n in app._notifications if "Enqueued" in n.message]

        form.query_one("#enqueue-actor").value = "echo"  # a declared actor goes through
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: not isinstance(app.screen, EnqueueScreen), message="the form closed"
        )
        await wait_until(pilot, lambda: ready(sqlite_broker, queue_name) == 1, message="sent")
