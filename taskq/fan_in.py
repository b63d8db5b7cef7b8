"""Group fan-in, both sides: ``group.run`` records a group's members in the result backend, and
each member that finishes counts itself there; the last one gets the member list, so the
Pipelines middleware can send the group's results on to the next step."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .constants import GROUP_TTL, group_done_key, group_members_key

if TYPE_CHECKING:
    from .results.backend import ResultBackend

#: A group member as recorded: ``[queue_name, actor_name, message_id]`` (some backends key
#: results by all three, as Dramatiq's layout does).
Member = list[str]


def record_members(backend: ResultBackend, group_id: str, members: list[Member]) -> None:
    """Record the members of ``group_id`` (before any of them is sent)."""
    # Stored as JSON text: a Dramatiq-protocol backend stores any JSON value, and Missing is falsy.
    backend.put_value(
        group_members_key(backend.namespace, group_id), json.dumps(members), GROUP_TTL
    )


def member_finished(backend: ResultBackend, group_id: str, group_size: int) -> list[Member] | None:
    """Count one finished member of ``group_id``; return the recorded members when this was the
    last of ``group_size``, else None."""
    done = backend.increment(group_done_key(backend.namespace, group_id), 1, GROUP_TTL)
    if done != group_size:
        return None
    raw: Any = backend.get_value(group_members_key(backend.namespace, group_id))
    return json.loads(raw) if raw else []
