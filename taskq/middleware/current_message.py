"""CurrentMessage: ``CurrentMessage.get_current_message()`` inside a running actor."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from .middleware import Middleware

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

_current: contextvars.ContextVar[MessageProxy | None] = contextvars.ContextVar(
    "taskq_current_message", default=None
)


class CurrentMessage(Middleware):
    """Exposes the message being processed to its actor (per thread, per greenlet, and inside
    async actors, since the value lives in a context variable)."""

    @classmethod
    def get_current_message(cls) -> MessageProxy | None:
        """The message the calling actor is processing (its delivery, which reads like the
        message: ``message_id``, ``options``...; ``.message`` is the Message itself), or None
        outside an actor."""
        return _current.get()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        _current.set(message)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        _current.set(None)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        _current.set(None)


def get_current_message() -> MessageProxy | None:
    """Shortcut for :meth:`CurrentMessage.get_current_message`."""
    return _current.get()
