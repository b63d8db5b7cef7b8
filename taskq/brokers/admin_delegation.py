"""The broker methods every broker answers from its composed ``admin`` object, written once.

Each broker package has an ``admin.py`` (inspection, dead letters, queue stats) whose object the
broker holds as ``admin``; the broker keeps the public method names (the CLI, the TUI, the
notebooks and Dramatiq programs call them on the broker) and these mixins forward them. Put
the mixin before :class:`~taskq.broker.Broker` in the bases, so its methods replace the
interface's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ..delivery import DeadLetter

__all__ = ["AdminDelegation", "DeadLetterAdmin", "StoreAdmin", "StoreAdminDelegation"]


class DeadLetterAdmin(Protocol):
    """What every broker's admin answers: queue counts and its dead letters."""

    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per queue: ``{"ready", "delayed", "in_flight", "dead"}`` counts."""
        ...

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first."""
        ...

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move the given dead letters back onto their queue; returns how many moved."""
        ...

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        ...


class StoreAdmin(DeadLetterAdmin, Protocol):
    """An admin that also searches dead letters where they are stored and knows which
    workers are alive (SQLite's and Redis's)."""

    def search_dead_letters(
        self, queue_name: str, text: str, *, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters whose message id, payload or reason contains ``text``, newest first."""
        ...

    def worker_heartbeats(self) -> list[dict[str, Any]]:
        """Live workers: dicts with ``worker_id``, ``last_seen`` (ms), ..."""
        ...


class AdminDelegation:
    """Mixin for a broker holding a :class:`DeadLetterAdmin` as ``admin``."""

    admin: DeadLetterAdmin

    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per queue: ``{"ready", "delayed", "in_flight", "dead"}`` counts."""
        return self.admin.queue_stats()

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first."""
        return self.admin.dead_letter_messages(queue_name, limit=limit)

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move the given dead letters back onto their queue, ready now; returns how many
        moved."""
        return self.admin.requeue_dead_letters(queue_name, message_ids)

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        return self.admin.purge_dead_letters(queue_name)


class StoreAdminDelegation(AdminDelegation):
    """Mixin for a broker holding a :class:`StoreAdmin` as ``admin``: also searches dead
    letters in the store and lists worker heartbeats."""

    admin: StoreAdmin

    def search_dead_letters(
        self, queue_name: str, text: str, *, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters of ``queue_name`` whose message id, payload or reason contains
        ``text``, newest first."""
        return self.admin.search_dead_letters(queue_name, text, limit=limit)

    def worker_heartbeats(self) -> list[dict[str, Any]]:
        """Workers consuming from this broker whose heartbeat is recent, and when each was
        last seen."""
        return self.admin.worker_heartbeats()
