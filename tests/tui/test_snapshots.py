"""SVG snapshots of every tab at 120x40 with fixed data and a frozen clock.

Regenerate after an intended change: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from taskq.broker import DeadLetter
from taskq.brokers.stub import StubBroker
from taskq.message import Message
from taskq_tui.app import TaskqApp
from taskq_tui.broker_link import BrokerLink
from taskq_tui.config import TuiConfig
from taskq_tui.metrics_history import Scrape
from taskq_tui.views.metrics import MetricsView
from taskq_tui.views.queues import QueuesView
from taskq_tui.views.workers import WorkersView
from taskq_tui.worker_groups import ProcessRow

from .pilot_helpers import wait_until

SIZE = (120, 40)
NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
NOW_MS = int(NOW * 1000)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fixed_app() -> TaskqApp:
    config = TuiConfig(
        broker_url="redis://user:hunter2@127.0.0.1:6379/0",
        live=False,
        clock=lambda: NOW,
        metrics_urls=["http://127.0.0.1:9191/metrics"],
    )
    return TaskqApp(config, BrokerLink(config.broker_url, broker=StubBroker()))


def fixed_events() -> list[dict[str, Any]]:
    events = []
    for i in range(12):
        message_id = f"{i:08d}-0000-4000-8000-000000000000"
        base = {
            "message_id": message_id,
            "queue_name": "emails" if i % 3 else "reports",
            "actor_name": "send_email" if i % 3 else "build_report",
            "worker": "host:4242",
        }
        at = NOW_MS - 60_000 + i * 1000
        events.append({**base, "event": "enqueued", "timestamp": at, "args": [i], "kwargs": {}})
        events.append({**base, "event": "started", "timestamp": at + 5})
        if i % 4 == 3:
            events.append(
                {
                    **base,
                    "event": "failed",
                    "timestamp": at + 40,
                    "duration_ms": 35,
                    "exception_type": "ValueError",
                    "exception": f"bad address {i}",
                    "traceback": "Traceback (most recent call last):\n  ...\nValueError: bad",
                }
            )
        else:
            events.append({**base, "event": "succeeded", "timestamp": at + 20, "duration_ms": 15})
    return events


def scrape(at: float, processed: float, errors: float, buckets: list[float]) -> Scrape:
    key = ("emails", "send_email")
    bounds = [5.0, 10.0, 25.0, 50.0, 100.0, float("inf")]
    return Scrape(
        at=at,
        processed={key: processed},
        errors={key: errors},
        retries={key: errors / 2},
        in_progress={key: 3.0},
        buckets={key: dict(zip(bounds, buckets, strict=True))},
    )


async def open_tab(pilot: Any, key: str, table: str) -> None:
    """Press a tab's key and wait until its table has focus (so the footer is settled)."""
    await wait_until(pilot, lambda: pilot.app.focused is not None, message="initial focus")
    await pilot.press(key)
    await wait_until(pilot, lambda: pilot.app.query_one(table).has_focus, message=table)


async def show_workers(pilot: Any) -> None:
    app = pilot.app
    await open_tab(pilot, "1", "#process-table")
    view = app.query_one(WorkersView)
    view.show_rows(
        [
            ProcessRow("g1", "master", 4200, "running", 3720, 0.3, 31_000_000),
            ProcessRow("g1", "worker", 4242, "sleeping", 3719, 12.5, 48_500_000),
            ProcessRow("g1", "worker", 4243, "running", 3719, 40.0, 51_200_000),
        ]
    )
    app.heartbeats = [
        {"worker_id": "host:4242", "last_seen": NOW_MS - 2000},
        {"worker_id": "otherhost:99", "last_seen": NOW_MS - 90_000},
    ]
    await pilot.pause()


async def show_messages(pilot: Any) -> None:
    """One row per message; the last (failed) one selected, its detail pane below."""
    pilot.app.add_events(fixed_events())
    await pilot.pause()
    await open_tab(pilot, "2", "#message-table")
    detail = pilot.app.query_one("#message-detail")
    await wait_until(pilot, lambda: detail.record is not None, message="the detail pane")
    await pilot.pause()


async def show_metrics(pilot: Any) -> None:
    await open_tab(pilot, "3", "#metrics-table")
    view = pilot.app.query_one(MetricsView)
    for step in range(30):
        processed = sum(10 + (s % 7) * 3 for s in range(step + 1))
        errors = step // 3
        counts = [c * (step + 1) for c in (2, 6, 8, 9, 10, 10)]
        view.add_scrape(scrape(NOW - 60 + step * 2, processed, errors, counts))
    await pilot.pause()


async def show_queues(pilot: Any) -> None:
    app = pilot.app
    await open_tab(pilot, "4", "#queue-table")
    app.queue_stats = {
        "emails": {"ready": 120, "delayed": 4, "in_flight": 8, "dead": 2},
        "reports": {"ready": 0, "delayed": 1, "in_flight": 0, "dead": 0},
    }
    await pilot.pause()
    letters = []
    for i in range(2):
        message = Message(
            queue_name="emails",
            actor_name="send_email",
            args=(f"user{i}@example.com",),
            message_id=f"dead{i:04d}-0000-4000-8000-000000000000",
            message_timestamp=NOW_MS - 300_000,
        )
        letter = DeadLetter(
            message.message_id,
            "emails",
            message.encode(),
            message,
            "Traceback...\nValueError: mailbox full",
            NOW_MS - 120_000 + i,
        )
        letters.append(letter)
    app.query_one(QueuesView).set_dead_letters("emails", letters)
    await pilot.pause()


@pytest.mark.parametrize(
    "prepare", [show_workers, show_messages, show_metrics, show_queues], ids=lambda f: f.__name__
)
def test_screen_snapshot(snap_compare: Any, prepare: Any) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=prepare)


def test_help_snapshot(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, press=["question_mark"])
