"""Shared helpers for event tests: gather messages' events from a subscription."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from taskq.events import Subscription


class EventLog:
    """Reads a subscription, keeping every event by message id so none is lost while
    waiting for another message's."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def until(
        self, message_id: str, last: str, *, count: int = 1, timeout: float = 15
    ) -> list[dict[str, Any]]:
        """Events of ``message_id`` up to its ``count``-th ``last`` event, and its "enqueued".

        The producer publishes "enqueued" on its own, so it can arrive after a worker's
        last event; waiting for ``last`` alone would race it.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.by_message[message_id]
            done = sum(e["event"] == last for e in seen) >= count
            if done and any(e["event"] == "enqueued" for e in seen):
                return in_order(seen)
            if time.monotonic() > deadline:
                raise AssertionError(f"no {last!r} event for {message_id} in {timeout}s: {seen}")
            event = self.subscription.poll(200)
            if event is not None:
                self.by_message[event["message_id"]].append(event)


def events_of(
    subscription: Subscription, message_id: str, last: str, *, count: int = 1, timeout: float = 15
) -> list[dict[str, Any]]:
    """Events of one message (events of other messages are discarded)."""
    return EventLog(subscription).until(message_id, last, count=count, timeout=timeout)


def in_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One message's events in lifecycle order.

    The producer's "enqueued" and a worker's "started" come from different publishers, so
    they may arrive in either order; "enqueued" is stamped before the broker had the message,
    which puts it first by timestamp.
    """
    enqueued = [e for e in events if e["event"] == "enqueued"]
    rest = [e for e in events if e["event"] != "enqueued"]
    assert len(enqueued) <= 1, enqueued
    if enqueued and rest:
        assert enqueued[0]["timestamp"] <= rest[0]["timestamp"], events
    return enqueued + rest


def kinds(events: list[dict[str, Any]]) -> list[str]:
    """The kinds of ``events`` (put them :func:`in_order` first)."""
    return [e["event"] for e in events]
