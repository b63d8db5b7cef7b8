"""Fixtures for the unit suite: stub brokers with extra middleware, and a hook recorder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import taskq
from taskq.broker import _reset_global_broker
from taskq.brokers.stub import StubBroker
from taskq.middleware import Middleware, default_middleware
from taskq.results import Results
from taskq.results.backends import StubBackend


class Recorder(Middleware):
    """Records the hooks a test cares about: enqueue delays, skips (with reasons), nacks."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, int]] = []
        self.skipped: list[tuple[str, str | None]] = []
        self.nacked: list[tuple[str, str | None]] = []
        self.acked: list[str] = []

    def after_enqueue(self, broker: Any, message: Any, delay: int) -> None:
        self.enqueued.append((message.actor_name, delay))

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self.skipped.append((message.message_id, message.reason))

    def after_nack(self, broker: Any, message: Any) -> None:
        self.nacked.append((message.message_id, message.reason))

    def after_ack(self, broker: Any, message: Any) -> None:
        self.acked.append(message.message_id)


@pytest.fixture
def make_stub_broker() -> Iterator[Callable[..., StubBroker]]:
    """``make_stub_broker(*extra_middleware)``: default stack + Results + extras, set global."""

    def make(*extra: Middleware) -> StubBroker:
        # These tests inspect dead letters themselves, so join() must not re-raise them.
        broker = StubBroker(middleware=[m() for m in default_middleware], fail_fast_default=False)
        broker.add_middleware(Results(backend=StubBackend()))
        for middleware in extra:
            broker.add_middleware(middleware)
        taskq.set_broker(broker)
        return broker

    yield make
    _reset_global_broker()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
