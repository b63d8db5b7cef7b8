"""StubBroker factory for the shared broker suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from taskq.brokers.stub import StubBroker
from taskq.middleware import Middleware


@contextmanager
def make_broker(middleware: list[Middleware] | None = None) -> Iterator[StubBroker]:
    broker = StubBroker(middleware=middleware)
    try:
        yield broker
    finally:
        broker.close()


def push_raw(broker: StubBroker, queue_name: str, payload: bytes) -> None:
    broker.enqueue_raw(queue_name, payload)
