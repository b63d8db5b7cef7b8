"""Messages the views post to ask the app for something that needs a dialog or the broker.

Views never call into the app: they post one of these and :class:`~taskq_tui.app.TaskqApp`
handles it (confirm first when destructive, refuse in read-only mode, run the broker call in a
thread worker through the :class:`~taskq_tui.controller.BrokerController`).
"""

from __future__ import annotations

from textual.message import Message

from .screens.enqueue import EnqueueRequest


class EnqueueRequested(Message):
    """Open the enqueue form, prefilled with ``prefill``."""

    def __init__(self, prefill: EnqueueRequest, title: str = "Enqueue a message") -> None:
        super().__init__()
        self.prefill = prefill
        self.title = title


class RetryRequested(EnqueueRequested):
    """Send a message again: the form opens with its original arguments, editable."""

    def __init__(self, prefill: EnqueueRequest) -> None:
        super().__init__(prefill, "Retry with original or edited arguments")


class AbortRequested(Message):
    """Abort the message ``message_id`` (after a confirm)."""

    def __init__(self, message_id: str) -> None:
        super().__init__()
        self.message_id = message_id


class RequeueRequested(Message):
    """Move the dead letters ``message_ids`` of ``queue_name`` back onto it (after a confirm)."""

    def __init__(self, queue_name: str, message_ids: list[str]) -> None:
        super().__init__()
        self.queue_name = queue_name
        self.message_ids = message_ids


class PurgeRequested(Message):
    """Delete every dead letter of ``queue_name`` (after a confirm)."""

    def __init__(self, queue_name: str) -> None:
        super().__init__()
        self.queue_name = queue_name


class RefreshRequested(Message):
    """Poll the broker now (queue depths, heartbeats) instead of at the next interval."""


class DeadLettersChanged(Message):
    """Dead letters of ``queue_name`` were requeued or purged: lists showing them reload."""

    def __init__(self, queue_name: str) -> None:
        super().__init__()
        self.queue_name = queue_name
