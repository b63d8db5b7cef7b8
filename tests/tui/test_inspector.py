"""The message inspector's workflows (issue 23), each driven through Pilot: import path, retry
with edited arguments, the detail pane of a failed message, abort on SQLite and Redis, dead
letters that refresh on their own, history after a restart, and keys that do what they say."""

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
from taskq_tui.formatting import short
from taskq_tui.screens.confirm import ConfirmScreen
from taskq_tui.screens.enqueue import EnqueueScreen
from taskq_tui.screens.help import HelpScreen
from taskq_tui.views.workers import WorkersView
from taskq_tui.worker_groups import GroupSpec

from .pilot_helpers import JOBS_MODULE, table_column, wait_until
from .test_messages_and_queues import make_dead_letter

pytestmark = pytest.mark.anyio

#: JOBS_MODULE plus the Abortable middleware on whatever broker the module is imported with
#: (the TUI's own in the TUI, the one from --broker in `taskq worker`).
ABORTABLE_MODULE = (
    JOBS_MODULE
    + """
from taskq.middleware.abort import Abortable

taskq.get_broker().add_middleware(Abortable(interval=100))
"""
)


@pytest.fixture
def module_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``write(name, source)`` puts a module in tmp_path, which becomes the working folder but
    is *not* put on sys.path (the TUI must do that, as `taskq worker` does)."""
    monkeypatch.chdir(tmp_path)
    names: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield write
    for path in (str(tmp_path), "."):
        while path in sys.path:
            sys.path.remove(path)
    for name in names:
        sys.modules.pop(name, None)
    _reset_global_broker()


def notifications(app: Any) -> list[str]:
    """Texts of the toasts shown so far."""
    return [n.message for n in app._notifications]


def rendered_text(widget: Any) -> str:
    """What a widget draws, as plain text."""
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(widget.render())
    return console.export_text()


def nothing_in_flight(app: Any) -> bool:
    """The latest queue counts show no message in flight (else quitting asks first)."""
    return bool(app.queue_stats) and not any(
        counts.get("in_flight") for counts in app.queue_stats.values()
    )


def status_of(app: Any, message_id: str) -> str:
    record = app.messages.get(message_id)
    return record.status if record else ""


async def select_row(app: Any, pilot: Any, message_id: str) -> None:
    """Open the Messages tab and put the cursor on ``message_id``'s row."""
    await pilot.press("2")
    table = app.query_one("#message-table")
    await wait_until(pilot, lambda: table.has_focus, message="the message table focused")
    table.move_cursor(table.row_index(message_id))
    await pilot.pause()


async def test_modules_in_the_working_folder_are_found(make_app: Any, module_in_cwd: Any) -> None:
    """Defect 1: `taskq tui sigtasks` in the folder holding sigtasks.py imports it."""
    name = module_in_cwd("sigtasks", JOBS_MODULE.format(queue="sig"))
    app = make_app(modules=[name], worker_cwd=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "boom" in app.actor_queues, message="sigtasks imported")
        assert app.actor_queues["echo"] == "sig"
        assert not [n for n in notifications(app) if "failed" in n]


async def test_failed_message_detail_copy_and_retry_with_edited_args(
    make_app: Any, module_in_cwd: Any, sqlite_broker: Any, queue_name: str
) -> None:
    """Defects 2 and 4: one row per message; the failed row's detail pane shows id, args,
    lifecycle, error and traceback; `c` copies the id; `r` pre-fills the original args."""
    name = module_in_cwd("tui_jobs", JOBS_MODULE.format(queue=queue_name))
    app = make_app(modules=[name], worker_cwd=None)
    async with app.run_test(size=(120, 40)) as pilot:
        group = app.query_one(WorkersView).launch(GroupSpec([name], processes=1, threads=2))
        await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
        sqlite_broker.declare_queue(queue_name)
        failed = sqlite_broker.enqueue(
            Message(queue_name=queue_name, actor_name="boom", args=("tui test",))
        )
        await wait_until(
            pilot, lambda: status_of(app, failed.message_id) == "dead", message="boom dead"
        )
        await select_row(app, pilot, failed.message_id)
        table = app.query_one("#message-table")
        row = table.row_texts(table.row_index(failed.message_id))
        assert row[1:5] == ["dead", short(queue_name, 10), "boom", '["tui test"]']
        assert row[7] == "ValueError: boom tui test"
        assert app.query_one("#message-table").row_count == 1  # one row, not one per event

        pane = rendered_text(app.query_one("#message-detail"))
        for text in (failed.message_id, '"tui test"', "ValueError: boom tui test", "Traceback"):
            assert text in pane, text
        for step in ("enqueued", "started", "failed", "dead_lettered"):
            assert step in pane
        assert 'raise ValueError(f"boom {value}")' in pane  # the traceback, in full

        await pilot.press("c")
        assert app.clipboard == failed.message_id

        await pilot.press("r")
        form = await wait_until(pilot, lambda: isinstance(app.screen, EnqueueScreen) and app.screen)
        assert len(app.screen_stack) == 2  # one form, not one per handler
        assert form.query_one("#enqueue-actor").value == "boom"
        assert form.query_one("#enqueue-queue").value == queue_name
        assert form.query_one("#enqueue-args").value == '["tui test"]'
        form.query_one("#enqueue-args").value = '["edited"]'
        await pilot.click("#enqueue-submit")
        retried = await wait_until(
            pilot,
            lambda: [r for r in app.messages.records.values() if r.args == ["edited"] and r.events],
            message="the retried message's events",
        )
        assert retried[0].actor_name == "boom" and retried[0].message_id != failed.message_id
        await wait_until(
            pilot, lambda: retried[0].status == "dead" and nothing_in_flight(app), message="done"
        )
        await pilot.press("q")
        await wait_until(pilot, lambda: group.returncode is not None, message="group stopped")


@pytest.fixture(params=["sqlite", "redis"])
def broker_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """The TUI's and the workers' broker: the test's SQLite file, or a private Redis
    namespace (deleted afterwards)."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    from tests.factories.redis import REDIS_URL, delete_namespace, unique_namespace

    redis = pytest.importorskip("redis")
    namespace = unique_namespace()
    yield f"{REDIS_URL}?namespace={namespace}"
    client = redis.Redis.from_url(REDIS_URL)
    delete_namespace(client, namespace)
    delete_namespace(client, f"{namespace}-results")
    client.close()


async def test_abort_a_running_message(
    make_app: Any, module_in_cwd: Any, broker_url: str, queue_name: str
) -> None:
    """Defect 3: with Abortable on the actors' broker, `a` on a running message interrupts it."""
    from taskq_tui.screens.enqueue import EnqueueRequest

    name = module_in_cwd("tui_abort_jobs", ABORTABLE_MODULE.format(queue=queue_name))
    app = make_app(broker_url=broker_url, modules=[name], worker_cwd=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "nap" in app.actor_queues, message="module imported")
        assert app.abort_reason == ""
        group = app.query_one(WorkersView).launch(GroupSpec([name], processes=1, threads=2))
        await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
        nap = app.controller.enqueue(EnqueueRequest("nap", queue_name, [60]))
        await wait_until(
            pilot, lambda: status_of(app, nap.message_id) == "running", 30, "nap running"
        )
        await select_row(app, pilot, nap.message_id)
        await pilot.press("a")  # the first press does it
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(
            pilot, lambda: status_of(app, nap.message_id) == "aborted", 30, "nap aborted"
        )
        record = app.messages.get(nap.message_id)
        assert record.exception_type == "Abort"
        await wait_until(
            pilot,
            lambda: (
                table_column(app, "#message-table", 1)[
                    app.query_one("#message-table").row_index(nap.message_id)
                ]
                == "aborted"
            ),
            message="the row updated in place",
        )
        # The failed event is published before the worker acks: until the broker's counts
        # catch up, `q` rightly asks whether to stop work in flight.
        await wait_until(pilot, lambda: nothing_in_flight(app), message="nothing in flight")
        await pilot.press("q")  # TERM goes out at once, not queued behind the pollers' threads
        await wait_until(pilot, lambda: group.returncode is not None, message="group stopped")
        assert group.returncode == 0  # a graceful stop, not the kill after 20 s


async def test_abort_is_off_without_abortable_and_says_how_to_turn_it_on(
    make_app: Any, module_in_cwd: Any, sqlite_broker: Any, queue_name: str
) -> None:
    """Defect 3: the actors' broker lacks Abortable: the footer says "Abort (off)" and `a`
    explains why and which setting turns it on, instead of pretending to abort."""
    name = module_in_cwd("tui_jobs", JOBS_MODULE.format(queue=queue_name))
    app = make_app(modules=[name], worker_cwd=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "nap" in app.actor_queues, message="module imported")
        assert "Abortable" in app.abort_reason
        sqlite_broker.declare_queue(queue_name)
        queued = sqlite_broker.enqueue(Message(queue_name=queue_name, actor_name="nap", args=(9,)))
        await wait_until(pilot, lambda: status_of(app, queued.message_id) == "queued")
        await select_row(app, pilot, queued.message_id)
        active = {b.binding.description for b in app.active_bindings.values()}
        assert "Abort (off)" in active and "Abort" not in active
        await pilot.press("a")
        shown = await wait_until(
            pilot, lambda: [n for n in notifications(app) if "Abortable()" in n], message="why"
        )
        assert "add_middleware" in shown[0]
        assert not isinstance(app.screen, ConfirmScreen)


#: Abortable on a broker with no shared place for its marks: no Results, or the in-memory one.
ABORTABLE_NOWHERE = """
import taskq
from taskq.brokers.stub import StubBroker
from taskq.middleware.abort import Abortable
{results}
broker = StubBroker()
broker.add_middleware(Abortable())
{add_results}
taskq.set_broker(broker)


@taskq.actor(queue_name="nowhere")
def nap(seconds):
    pass
"""


@pytest.mark.parametrize(
    ("results", "why"),
    [("", "Results"), ("stub", "StubBackend")],
    ids=["no-results", "in-memory-results"],
)
async def test_abort_is_off_when_its_marks_cannot_reach_the_workers(
    make_app: Any, module_in_cwd: Any, results: str, why: str
) -> None:
    """Abortable alone is not enough: with nowhere shared to keep abort marks (RabbitMQ or
    the stub broker without a results backend, or an in-memory one) the key is off and says
    why, instead of failing at the first abort."""
    source = ABORTABLE_NOWHERE.format(
        results="from taskq.results import Results\nfrom taskq.results.backends import StubBackend"
        if results
        else "",
        add_results="broker.add_middleware(Results(backend=StubBackend()))" if results else "",
    )
    name = module_in_cwd(f"tui_nowhere_{results or 'none'}", source)
    app = make_app(modules=[name], worker_cwd=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "nap" in app.actor_queues, message="module imported")
        await wait_until(pilot, lambda: why in app.abort_reason, message="the reason")
        assert app.abort_reason.startswith("Abort is off")


async def test_dead_letters_refresh_on_their_own(
    make_app: Any, sqlite_broker: Any, queue_name: str
) -> None:
    """Defect 5: a new dead letter shows in the list without pressing ^r."""
    first = make_dead_letter(sqlite_broker, queue_name, "first")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await wait_until(pilot, lambda: queue_name in table_column(app, "#queue-table", 0))
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 1)
        second = make_dead_letter(sqlite_broker, queue_name, "second")
        await wait_until(
            pilot,
            lambda: (
                set(table_column(app, "#dead-table", 0))
                == {first.message_id[:8], second.message_id[:8]}
            ),
            message="both dead letters listed",
        )
        assert table_column(app, "#queue-table", 4) == ["2"]


async def test_history_survives_a_restart(
    make_app: Any, sqlite_broker: Any, queue_name: str
) -> None:
    """Events the broker keeps are loaded on start: messages sent before the TUI ran show."""
    sqlite_broker.declare_queue(queue_name)
    sent = sqlite_broker.enqueue(Message(queue_name=queue_name, actor_name="echo", args=(1,)))
    for _ in range(2):  # a first session, then a restarted one
        await shows_the_message_at_start(make_app(), sent.message_id)


async def shows_the_message_at_start(app: Any, message_id: str) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot, lambda: status_of(app, message_id) == "queued", message="the message"
        )
        table = app.query_one("#message-table")
        await wait_until(pilot, lambda: table.row_count == 1, message="its row")


async def test_keys_do_what_the_footer_says(make_app: Any, module_in_cwd: Any) -> None:
    """Defect 6: `/` focuses search, help shows readable keys, launch has a key, and the first
    key press works (focus starts on the active tab's table)."""
    name = module_in_cwd("tui_jobs", JOBS_MODULE.format(queue="keys"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#message-table")
        await wait_until(pilot, lambda: table.has_focus, message="the table focused at start")
        await pilot.press("slash")
        assert app.focused is app.query_one("#f-text")
        await pilot.press("x", "enter")
        assert app.query_one("#f-text").value == "x" and table.has_focus

        await pilot.press("question_mark")
        help_screen = await wait_until(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen
        )
        text = help_screen.query_one("Markdown").source
        for raw in ("question_mark", "plus", "minus", "slash", "ctrl+"):
            assert raw not in text, raw
        for shown in (
            "| `?` `f1` | Help |",
            "| `+` | More |",
            "| `/` | Search |",
            "| `l` | Launch",
        ):
            assert shown in text, shown
        await pilot.press("escape")

        await pilot.press("1")
        await wait_until(pilot, lambda: app.query_one("#process-table").has_focus)
        app.query_one("#gf-modules").value = name
        app.query_one("#gf-threads").value = "1"
        await pilot.press("l")
        group = await wait_until(pilot, lambda: app.worker_groups.get("g1"), message="launched")
        await wait_until(pilot, lambda: group.child_pids(), message="its worker")
        await pilot.press("q")
        await wait_until(pilot, lambda: group.returncode is not None, message="group stopped")


async def test_the_detail_pane_shows_a_long_traceback_in_full() -> None:
    """A failed message's traceback of 41 chained errors (~13 KB, over the 2 KiB events once
    kept) is shown whole in the detail pane, from its first line to the last error."""
    from taskq.brokers.stub import StubBroker
    from taskq_tui.app import TaskqApp
    from taskq_tui.broker_link import BrokerLink
    from taskq_tui.config import TuiConfig

    blocks = [
        f'  File "jobs.py", line {10 + depth}, in deep\n    deep.fn({depth - 1})\n'
        f"ValueError: level {depth}\n"
        for depth in range(41)
    ]
    joint = "\nThe above exception was the direct cause of the following exception:\n\n"
    text = joint.join(f"Traceback (most recent call last):\n{block}" for block in blocks)
    base = {"message_id": "m-deep", "queue_name": "q", "actor_name": "deep", "worker": "h:1"}
    config = TuiConfig(broker_url="stub://", live=False)
    app = TaskqApp(config, BrokerLink(config.broker_url, broker=StubBroker()))
    async with app.run_test(size=(120, 40)) as pilot:
        app.add_events(
            [
                {**base, "event": "enqueued", "timestamp": 1_000, "args": [40], "kwargs": {}},
                {**base, "event": "started", "timestamp": 1_001},
                {
                    **base,
                    "event": "failed",
                    "timestamp": 1_020,
                    "exception_type": "ValueError",
                    "exception": "level 40",
                    "traceback": text,
                },
            ]
        )
        await select_row(app, pilot, "m-deep")
        detail = app.query_one("#message-detail")
        await wait_until(pilot, lambda: detail.record is not None, message="the detail pane")
        pane = rendered_text(detail)
        assert len(text) > 4096
        assert pane.count("Traceback (most recent call last):") == 41
        assert all(f"ValueError: level {depth}\n" in pane for depth in range(41))
        assert pane.rstrip().endswith("ValueError: level 40")

        await pilot.press("enter")  # the pane full screen, focused to scroll through it
        scroll = app.query_one("#detail-scroll")
        assert app.screen.maximized is scroll and scroll.has_focus
        assert scroll.size.height > 30  # the whole screen, not the 14 lines of the pane
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        await pilot.press("escape")
        assert app.screen.maximized is None
        await pilot.press("escape")
        assert app.query_one("#message-table").has_focus
