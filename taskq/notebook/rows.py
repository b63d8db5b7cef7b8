"""What a watch knows about each message it follows (:class:`Row`), which messages a watched
object stands for (:func:`messages_of`), and how one lifecycle event changes a row."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..composition import group, pipeline
from ..events.schema import EventKind
from ..message import Message

#: Statuses after which a message will not change any more.
FINAL_STATUSES = frozenset({"succeeded", "failed", "skipped"})
#: Every status a tracked message can have, in lifecycle order.
STATUSES = ("queued", "started", "retrying", "succeeded", "failed", "skipped")

#: Lifecycle event name -> the status it moves a message to.
EVENT_STATUS: dict[str, str] = {
    EventKind.ENQUEUED: "queued",
    EventKind.STARTED: "started",
    EventKind.RETRIED: "retrying",
    EventKind.FAILED: "retrying",  # final only once dead-lettered, or when a failure result is stored
    EventKind.SUCCEEDED: "succeeded",
    EventKind.DEAD_LETTERED: "failed",
    EventKind.SKIPPED: "skipped",
}


@dataclass
class Row:
    """What is known about one tracked message."""

    message_id: str
    label: str
    status: str = "queued"
    result: Any = None
    error: str | None = None
    changed_at: float = field(default_factory=time.monotonic)
    #: The actor's name and the call's arguments (None when only the id was given).
    actor: str | None = None
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    #: UNIX ms when a worker last started it and when it finished (None while unknown).
    started: int | None = None
    finished: int | None = None
    #: How long the last run took (ms), as the worker measured it.
    duration_ms: int | None = None
    #: The traceback of the last failure, when a worker published one.
    traceback: str | None = None

    @property
    def done(self) -> bool:
        """True once the status is final."""
        return self.status in FINAL_STATUSES


def messages_of(target: Any) -> list[Message[Any]]:
    """The messages to follow for a message, a message id, a group, a pipeline or a list."""

    if isinstance(target, Message):
        return [target]
    if isinstance(target, pipeline):
        return list(target.messages)
    if isinstance(target, group):
        out: list[Message[Any]] = []
        for child in target.children:
            out.extend(messages_of(child))
        return out
    if isinstance(target, str):
        return [Message(queue_name="default", actor_name="?", message_id=target)]
    if isinstance(target, Iterable):
        out = []
        for item in target:
            out.extend(messages_of(item))
        return out
    raise TypeError(
        f"watch() takes messages, message ids, a group, a pipeline or a list of them, "
        f"not {type(target).__name__}"
    )


def record_times(row: Row, event: dict[str, Any]) -> None:
    """Note when a worker started and finished the message, from the event's timestamps."""
    kind, stamp = event.get("event"), event.get("timestamp")
    if not isinstance(stamp, int):
        return
    if kind == "started":
        if not row.done:  # a new attempt
            row.started, row.finished, row.duration_ms = stamp, None, None
        elif row.started is None:  # finished before its events arrived
            row.started = stamp
    elif kind in ("succeeded", "failed", "dead_lettered", "skipped"):
        row.finished = stamp
        if isinstance(event.get("duration_ms"), int):
            row.duration_ms = event["duration_ms"]
        elif row.started is not None:
            row.duration_ms = stamp - row.started


def event_error(event: dict[str, Any]) -> str | None:
    """The error a lifecycle event reports, as one line (None when it reports none)."""
    for key in ("error", "exception", "reason"):
        value = event.get(key)
        if isinstance(value, dict):
            return f"{value.get('type', 'Error')}: {value.get('message', '')}"
        if value:
            kind = event.get("exception_type")
            return f"{kind}: {value}" if kind and key != "reason" else str(value)
    return None
