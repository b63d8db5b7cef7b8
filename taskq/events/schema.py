"""The one schema of a lifecycle event: its kind, and the fields every event carries.

On the wire (and in ``taskq events --json``) an event stays a flat JSON object:
``{"event": KIND, "message_id", "queue_name", "actor_name", "timestamp" (ms), "worker"
(host:pid), ...kind-specific fields}`` (``duration_ms``, ``exception_type``, ``reason``, ...).
:class:`EventRecord` is that object typed, for the producer and for readers (the CLI, the TUI,
notebooks); :class:`EventKind` names the kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple


class EventKind(StrEnum):
    """What happened to a message, in the order a message normally lives them. Members are
    strings, equal to the ``event`` value on the wire."""

    ENQUEUED = "enqueued"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRIED = "retried"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED = "skipped"


_KINDS = frozenset(kind.value for kind in EventKind)

#: The fields every event carries, besides ``event`` (its kind).
COMMON_FIELDS = ("message_id", "queue_name", "actor_name", "timestamp", "worker")


#: The ``extra`` of an event that has none (read-only, so it can be shared).
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


class EventRecord(NamedTuple):
    """One lifecycle event. ``kind`` is a plain string when a newer producer sent a kind this
    version does not know; ``extra`` holds the kind-specific fields."""

    kind: EventKind | str
    message_id: str
    queue_name: str
    actor_name: str
    timestamp: int
    worker: str = ""
    extra: Mapping[str, Any] = NO_EXTRA

    @classmethod
    def from_dict(cls, event: dict[str, Any]) -> EventRecord:
        """Read an event as published (missing fields become empty / 0)."""
        raw = str(event.get("event", ""))
        kind: EventKind | str = EventKind(raw) if raw in _KINDS else raw
        extra = {k: v for k, v in event.items() if k != "event" and k not in COMMON_FIELDS}
        return cls(
            kind=kind,
            message_id=str(event.get("message_id", "")),
            queue_name=str(event.get("queue_name", "")),
            actor_name=str(event.get("actor_name", "")),
            timestamp=int(event.get("timestamp") or 0),
            worker=str(event.get("worker", "")),
            extra=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The event as published: a flat JSON-ready dict, ``event`` first."""
        event: dict[str, Any] = {
            "event": str(self.kind),
            "message_id": self.message_id,
            "queue_name": self.queue_name,
            "actor_name": self.actor_name,
            "timestamp": self.timestamp,
            "worker": self.worker,
        }
        event.update(self.extra)
        return event
