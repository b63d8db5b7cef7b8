"""The compact member list of a streamed group: what ``group.run`` keeps per member.

A group built from a generator is enqueued in chunks (:data:`STREAM_CHUNK` messages per
``enqueue_many``) and its messages are dropped once sent. For ``wait``, ``get_results`` and
``completed_count`` the group needs only what results are found by: each message's queue,
actor and id. Those are kept packed: 16 bytes per UUID message id and 4 bytes for the
(queue, actor) pair, so a million members take about 20 MB.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Iterator
from typing import Any

from .message import Message

__all__ = ["STREAM_CHUNK", "GroupMembers"]

#: Messages per ``enqueue_many`` call when a group streams its members.
STREAM_CHUNK = 2000

_NOT_A_UUID = bytes(16)


class GroupMembers:
    """An append-only, packed list of group members; iterating yields stand-in messages
    (queue, actor and id set, no arguments) and, unchanged, members that are pipelines or
    groups."""

    def __init__(self) -> None:
        self._ids = bytearray()
        self._kinds = array("I")
        self._names: list[tuple[str, str]] = []
        self._name_index: dict[tuple[str, str], int] = {}
        #: Members stored as they are: message ids that are not canonical UUIDs (by position)
        #: and members that are pipelines or groups.
        self._others: dict[int, Any] = {}

    def add(self, member: Any) -> None:
        """Append ``member`` (a Message, pipeline or group)."""
        position = len(self._kinds)
        if not isinstance(member, Message):
            self._others[position] = member
            self._kinds.append(0)
            self._ids += _NOT_A_UUID
            return
        names = (member.queue_name, member.actor_name)
        kind = self._name_index.get(names)
        if kind is None:
            kind = self._name_index[names] = len(self._names)
            self._names.append(names)
        self._kinds.append(kind)
        packed = _pack(member.message_id)
        if packed is None:
            self._others[position] = member.message_id
            packed = _NOT_A_UUID
        self._ids += packed

    def __len__(self) -> int:
        return len(self._kinds)

    def __iter__(self) -> Iterator[Any]:
        for position, kind in enumerate(self._kinds):
            other = self._others.get(position)
            if other is not None and not isinstance(other, str):
                yield other
                continue
            if other is None:
                message_id = str(
                    uuid.UUID(bytes=bytes(self._ids[16 * position : 16 * position + 16]))
                )
            else:
                message_id = other
            queue_name, actor_name = self._names[kind]
            yield Message(
                queue_name=queue_name,
                actor_name=actor_name,
                message_id=message_id,
                message_timestamp=0,
            )


def _pack(message_id: str) -> bytes | None:
    """The 16 bytes of a canonical (lower-case, hyphenated) UUID string, else None."""
    if len(message_id) != 36:
        return None
    try:
        parsed = uuid.UUID(message_id)
    except ValueError:
        return None
    return parsed.bytes if str(parsed) == message_id else None
