"""Shared fixtures: an isolated broker of every kind, unique queue names, a running worker."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import taskq
from taskq.broker import _reset_global_broker
from taskq.results import Results
from taskq.results.backends import StubBackend

from .factories import BROKER_KINDS


def broker_factory(kind: str) -> Any:
    try:
        return importlib.import_module(f"tests.factories.{kind}")
    except ImportError as e:  # the broker's client library is missing
        pytest.skip(f"{kind} broker unavailable: {e}")


@pytest.fixture(params=BROKER_KINDS)
def broker_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def any_broker(broker_kind: str) -> Iterator[taskq.Broker]:
    """A fresh, isolated broker of each kind with a StubBackend Results middleware."""
    factory = broker_factory(broker_kind)
    with factory.make_broker() as broker:
        broker.add_middleware(Results(backend=StubBackend()))
        taskq.set_broker(broker)
        try:
            yield broker
        finally:
            _reset_global_broker()


@pytest.fixture
def push_raw(broker_kind: str) -> Any:
    return broker_factory(broker_kind).push_raw


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def stub_broker() -> Iterator[taskq.Broker]:
    from taskq.brokers.stub import StubBroker

    broker = StubBroker()
    broker.add_middleware(Results(backend=StubBackend()))
    taskq.set_broker(broker)
    yield broker
    _reset_global_broker()


@pytest.fixture
def start_worker() -> Iterator[Any]:
    """``start_worker(broker, **kwargs)`` starts a Worker that is stopped after the test."""
    workers: list[taskq.Worker] = []

    def start(broker: taskq.Broker, **kwargs: Any) -> taskq.Worker:
        kwargs.setdefault("worker_timeout", 100)
        kwargs.setdefault("worker_threads", 4)
        worker = taskq.Worker(broker, **kwargs)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop(timeout=10_000)
