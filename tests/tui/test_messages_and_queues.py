"""Messages and Queues tabs against a real SQLite broker and real worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskq.message import Message
from taskq_tui.screens.confirm import ConfirmScreen
from taskq_tui.screens.enqueue import EnqueueScreen
from taskq_tui.views.workers import WorkersView
from taskq_tui.worker_groups import GroupSpec

from .pilot_helpers import JOBS_MODULE, table_column, wait_until

pytestmark = pytest.mark.anyio


async def test_enqueue_from_the_form_shows_the_event_in_the_tail(
    make_app: Any, tmp_path: Path, queue_name: str
) -> None:
    (tmp_path / "tui_jobs.py").write_text(JOBS_MODULE.format(queue=queue_name))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        group = app.query_one(WorkersView).launch(GroupSpec(["tui_jobs"], processes=1, threads=2))
        await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EnqueueScreen))
        app.screen.query_one("#enqueue-actor").value = "echo"
        app.screen.query_one("#enqueue-queue").value = queue_name
        app.screen.query_one("#enqueue-args").value = '["from-the-ui"]'
        await pilot.click("#enqueue-submit")
        await pilot.press("2")
        done = await wait_until(
            pilot,
            lambda: [
                r
                for r in app.messages.records.values()
                if r.actor_name == "echo" and r.status == "succeeded"
            ],
            message="the succeeded message",
        )
        # One row per message: the form's "enqueued" (published by this process) and the
        # worker's events fold into the same row, which ends up "succeeded".
        await wait_until(
            pilot,
            lambda: table_column(app, "#message-table", 1) == ["succeeded"],
            message="one succeeded row in the table",
        )
        assert app.query_one("#message-table").row_index(done[0].message_id) == 0
        await wait_until(  # the UI's own "enqueued" may arrive after the worker's events
            pilot,
            lambda: [e["event"] for e in done[0].events] == ["enqueued", "started", "succeeded"],
            message="the three events in lifecycle order",
        )
        assert table_column(app, "#message-table", 1) == ["succeeded"]

        app.query_one("#f-text").value = "no-such-text"  # the search hides it...
        await wait_until(pilot, lambda: app.query_one("#message-table").row_count == 0)
        app.query_one("#f-text").value = "from-the-ui"  # ...and finds it by its argument
        await wait_until(pilot, lambda: app.query_one("#message-table").row_count == 1)
        await pilot.press("q")
        await wait_until(pilot, lambda: group.returncode is not None, message="group stopped")


def make_dead_letter(broker: Any, queue_name: str, value: str) -> Message[Any]:
    """Put one message on the queue and dead-letter it through a consumer, as a worker would."""
    broker.declare_queue(queue_name)
    message = broker.enqueue(Message(queue_name=queue_name, actor_name="echo", args=(value,)))
    consumer = broker.consume(queue_name, prefetch=1, timeout=2000)
    proxy = next(consumer)
    while proxy is None:
        proxy = next(consumer)
    proxy.fail("ValueError: boom for the test")
    consumer.nack(proxy)
    consumer.close()
    return message


async def test_requeue_a_dead_letter_after_confirming(
    make_app: Any, sqlite_broker: Any, queue_name: str
) -> None:
    message = make_dead_letter(sqlite_broker, queue_name, "needle-42")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.focused is not None)
        await pilot.press("4")
        await wait_until(pilot, lambda: queue_name in table_column(app, "#queue-table", 0))
        assert app.queue_stats[queue_name]["dead"] == 1
        await wait_until(
            pilot, lambda: table_column(app, "#dead-table", 0) == [message.message_id[:8]]
        )
        app.query_one("#dl-search").value = "no-such-text"
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 0)
        app.query_one("#dl-search").value = "needle-42"
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 1)
        app.query_one("#dead-table").focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: (
                app.queue_stats.get(queue_name, {}).get("dead") == 0
                and app.queue_stats[queue_name]["ready"] == 1
            ),
            message="the message back on its queue",
        )
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 0)
    assert sqlite_broker.queue_stats()[queue_name]["ready"] == 1


async def test_read_only_refuses_destructive_actions(
    make_app: Any, sqlite_broker: Any, queue_name: str
) -> None:
    make_dead_letter(sqlite_broker, queue_name, "keep-me")
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.focused is not None)
        await pilot.press("4")
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 1)
        await pilot.press("p")
        await pilot.press("e")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen | EnqueueScreen)
        assert "READ-ONLY" in str(app.query_one("#header").render())
    assert sqlite_broker.queue_stats()[queue_name]["dead"] == 1


async def test_unreachable_broker_shows_a_banner_and_the_ui_keeps_working(make_app: Any) -> None:
    app = make_app(broker_url="redis://:secret@127.0.0.1:1/0")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.broker_state == "down", message="state down")
        banner = app.query_one("#banner")
        assert banner.display and "reconnecting" in str(banner.render())
        header = str(app.query_one("#header").render())
        assert "secret" not in header and "***" in header
        await pilot.press("4")
        await wait_until(pilot, lambda: app.query_one("TabbedContent").active == "queues")
        await pilot.press("question_mark")  # the help screen still opens
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
