"""Fixtures for the TUI tests: an app on a real SQLite broker in tmp_path, or on fixed data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual")

from taskq.brokers.sqlite import SQLiteBroker  # noqa: E402
from taskq_tui.app import TaskqApp  # noqa: E402
from taskq_tui.broker_link import BrokerLink, broker_with_events  # noqa: E402
from taskq_tui.config import TuiConfig  # noqa: E402


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite broker URL private to the test."""
    return f"sqlite:///{tmp_path}/broker.db"


@pytest.fixture
def sqlite_broker(sqlite_url: str) -> Iterator[SQLiteBroker]:
    """The test's SQLite broker, as a producer (with the Events middleware)."""
    broker = broker_with_events(sqlite_url)
    yield broker  # type: ignore[misc]
    broker.close()


@pytest.fixture
def make_app(sqlite_url: str, tmp_path: Path) -> Iterator[object]:
    """``make_app(**config)`` builds a live app on the test's SQLite broker."""
    apps: list[TaskqApp] = []

    def make(**overrides: object) -> TaskqApp:
        settings: dict[str, object] = {
            "broker_url": sqlite_url,
            "poll_interval": 0.3,
            "metrics_urls": ["http://127.0.0.1:9/metrics"],
            "worker_cwd": str(tmp_path),
        }
        settings.update(overrides)
        app = TaskqApp(TuiConfig(**settings), BrokerLink(str(settings["broker_url"])))  # type: ignore[arg-type]
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.link.close()


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (through anyio's pytest plugin)."""
    return "asyncio"
