"""Fixtures of the fault suite: one isolated, CLI-reachable broker set-up per kind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from taskq.broker import Broker

from .fault_app import Recorder, build_broker, declare_actors
from .support import RECORD_URL, Counts, fault_env

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@dataclass
class FaultSetup:
    """A broker of one kind as both the test (producer) and ``taskq worker`` see it."""

    kind: str
    env: dict[str, str]
    broker: Broker
    actors: dict[str, Any]
    counts: Counts
    queue_name: str
    tmp_path: Path

    def worker_env(self, **overrides: str) -> dict[str, str]:
        """The environment for ``taskq worker`` (optionally with other FAULT_* values)."""
        env = dict(self.env)
        env.update({f"FAULT_{k.upper()}": v for k, v in overrides.items()})
        return env


def _values(kind: str, tmp_path: Path, token: str, broker_url: str | None) -> dict[str, str]:
    values = {"broker": kind, "queue": f"faults_{token}", "record_url": RECORD_URL}
    values["record_key"] = f"taskq-faults:{token}"
    if kind == "redis":
        values["broker_url"] = broker_url or RECORD_URL
        values["namespace"] = f"taskq-faults-{token}"
    elif kind == "rabbitmq":
        values["broker_url"] = broker_url or RABBITMQ_URL
    else:
        values["sqlite_path"] = str(tmp_path / "faults.db")
    return values


def make_setup(kind: str, tmp_path: Path, broker_url: str | None = None) -> FaultSetup:
    """A fresh setup of ``kind``; call :func:`teardown` when done."""
    token = uuid.uuid4().hex[:10]
    values = _values(kind, tmp_path, token, broker_url)
    env = fault_env(**values)
    broker = build_broker(env)
    recorder = Recorder(values["record_url"], values["record_key"])
    actors = declare_actors(broker, values["queue"], recorder)
    return FaultSetup(
        kind, env, broker, actors, Counts(values["record_key"]), values["queue"], tmp_path
    )


def teardown(setup: FaultSetup) -> None:
    """Remove every key, queue and file the setup created."""
    broker = setup.broker
    try:
        broker.close()
    finally:
        setup.counts.delete()
        if setup.kind == "redis":
            from tests.factories.redis import delete_namespace

            client = redis.Redis.from_url(setup.env["FAULT_BROKER_URL"])
            try:
                delete_namespace(client, setup.env["FAULT_NAMESPACE"])
            except redis.RedisError:
                pass  # a private server that is already gone
            finally:
                client.close()
        elif setup.kind == "rabbitmq":
            from tests.factories.rabbitmq import delete_queues

            delete_queues(broker)  # type: ignore[arg-type]


@pytest.fixture(params=["redis", "rabbitmq", "sqlite"])
def fault_setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultSetup]:
    """An isolated broker of each real kind, reachable by ``taskq worker`` through
    ``tests.faults.fault_app:broker`` and the setup's environment."""
    setup = make_setup(request.param, tmp_path)
    try:
        yield setup
    finally:
        teardown(setup)
