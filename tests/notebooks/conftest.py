"""Fixtures for the notebook tests: an SQLite broker with results and events, a real worker."""

from __future__ import annotations

import enum
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

import taskq
from taskq.broker import _reset_global_broker
from taskq.notebook import setup_broker

pytest.importorskip("ipywidgets")

REDIS_URL = "redis://127.0.0.1:6379/0"
#: The kernel the notebook tests start: this very interpreter (the .venv's).
KERNEL_NAME = "taskq-notebook-tests"


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def declare_actors(broker: taskq.Broker) -> SimpleNamespace:
    """The actors the widget tests send to, declared on ``broker``."""

    @taskq.actor(broker=broker, store_results=True)
    def add(x: int, y: int = 0) -> int:
        return x + y

    @taskq.actor(broker=broker, store_results=True)
    def label(
        size: float,
        colour: Colour = Colour.RED,
        unit: Literal["cm", "m"] = "cm",
        loud: bool = False,
        tags: list[str] | None = None,
    ) -> str:
        text = f"{size} {unit} {Colour(colour).name} {','.join(tags or [])}"
        return text.upper() if loud else text

    @taskq.actor(broker=broker, store_results=True, max_retries=0)
    def explode(x: int) -> int:
        raise ValueError(f"boom {x}")

    return SimpleNamespace(add=add, label=label, explode=explode)


@pytest.fixture
def sqlite_broker(tmp_path: Path) -> Iterator[taskq.Broker]:
    """An SQLite broker in tmp_path with Results (SQLiteBackend) and Events."""
    from taskq.brokers.sqlite import SQLiteBroker

    broker = setup_broker(SQLiteBroker(tmp_path / "taskq.db"))
    try:
        yield broker
    finally:
        _reset_global_broker()
        broker.close()


@pytest.fixture
def actors(sqlite_broker: taskq.Broker) -> SimpleNamespace:
    return declare_actors(sqlite_broker)


@pytest.fixture
def worker(sqlite_broker: taskq.Broker, actors: SimpleNamespace) -> Iterator[Any]:
    """A real in-process Worker consuming the SQLite broker."""
    worker = taskq.Worker(sqlite_broker, worker_timeout=100, worker_threads=4)
    worker.start()
    yield worker
    worker.stop(timeout=10_000)


@pytest.fixture
def widgets_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the ipywidgets views (there is no kernel in the test process)."""
    monkeypatch.setenv("TASKQ_NOTEBOOK_WIDGETS", "1")


@pytest.fixture
def widgets_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the terminal fallback."""
    monkeypatch.setenv("TASKQ_NOTEBOOK_WIDGETS", "0")


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
