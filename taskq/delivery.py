"""Delivery: the Consumer interface (what ``Broker.consume`` returns) and what consumers hand
out, a MessageProxy per delivery and a DeadLetter per dead-lettered message.

All three are re-exported by :mod:`taskq.broker`, where Dramatiq programs look for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .message import Message


class DeadLetter:
    """A dead-lettered message as listed by ``Broker.dead_letter_messages``.

    ``message`` is None when the payload could not be decoded; ``raw`` always holds the bytes.
    """

    __slots__ = ("message_id", "queue_name", "raw", "message", "reason", "dead_at")

    def __init__(
        self,
        message_id: str,
        queue_name: str,
        raw: bytes,
        message: Message[Any] | None,
        reason: str | None,
        dead_at: int | None,
    ) -> None:
        self.message_id = message_id
        self.queue_name = queue_name
        self.raw = raw
        self.message = message
        self.reason = reason
        self.dead_at = dead_at

    def asdict(self) -> dict[str, Any]:
        """A JSON-friendly dict of this dead letter."""
        return {
            "message_id": self.message_id,
            "queue_name": self.queue_name,
            "message": self.message.asdict() if self.message else None,
            "raw": None if self.message else self.raw.decode("utf-8", "replace"),
            "reason": self.reason,
            "dead_at": self.dead_at,
        }

    def __repr__(self) -> str:
        return f"DeadLetter({self.message_id!r}, reason={self.reason!r})"


class MessageProxy:
    """A consumed message plus its delivery state; attribute access falls through to it."""

    __slots__ = ("_message", "_exception", "failed", "_fetch_state", "reason")

    def __init__(self, message: Message[Any], fetch_state: Any = None) -> None:
        self._message = message
        self._exception: BaseException | None = None
        self.failed = False
        self._fetch_state = fetch_state
        #: Why the message is being dead-lettered; stored beside the dead letter.
        self.reason: str | None = None

    @property
    def message(self) -> Message[Any]:
        """The wrapped message."""
        return self._message

    def stuff_exception(self, exception: BaseException) -> None:
        """Remember the exception the actor raised."""
        self._exception = exception

    def clear_exception(self) -> None:
        """Forget the remembered exception (Retries does this after scheduling a retry)."""
        self._exception = None

    def fail(self, reason: str | None = None) -> None:
        """Mark the message as failed: it will be dead-lettered (with ``reason``), not acked."""
        self.failed = True
        if reason is not None:
            self.reason = reason

    # The fields middleware reads on every message, without the __getattr__ detour.
    @property
    def message_id(self) -> str:
        """The wrapped message's id."""
        return self._message.message_id

    @property
    def actor_name(self) -> str:
        """The wrapped message's actor name."""
        return self._message.actor_name

    @property
    def queue_name(self) -> str:
        """The wrapped message's queue name."""
        return self._message.queue_name

    @property
    def options(self) -> dict[str, Any]:
        """The wrapped message's options."""
        return self._message.options

    @property
    def args(self) -> tuple[Any, ...]:
        """The wrapped message's positional arguments."""
        return self._message.args

    @property
    def kwargs(self) -> dict[str, Any]:
        """The wrapped message's keyword arguments."""
        return self._message.kwargs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    def __str__(self) -> str:
        return str(self._message)

    def __repr__(self) -> str:
        return f"MessageProxy({self._message!r})"

    def __lt__(self, other: MessageProxy) -> bool:
        eta = self._message.options.get("eta", 0)
        other_eta = other._message.options.get("eta", 0)
        if eta != other_eta:
            return eta < other_eta
        return self._message < other._message

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessageProxy):
            return self._message.message_id == other._message.message_id
        if isinstance(other, type(self._message)):
            return self._message.message_id == other.message_id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._message.message_id)


def nack_reason(message: Any) -> str | None:
    """The reason recorded when ``message`` is dead-lettered: the one set on its delivery
    (:meth:`MessageProxy.fail`), else the traceback Retries left in its options. ``message``
    may be a bare Message (Dramatiq accepts one in ``nack``), which has no reason of its own."""
    return getattr(message, "reason", None) or message.options.get("traceback")


class Consumer(Iterator[MessageProxy | None]):
    """Iterates over a queue's messages; yields None when idle so the caller can do other work.

    Contract: ``__next__`` blocks at most the consumer's timeout; a consumer never holds more
    than ``prefetch`` unacked messages; ``ack``/``nack``/``requeue`` may be called from any
    thread. A payload that fails to decode is dead-lettered by the consumer with the reason,
    never yielded and never dropped.
    """

    def __iter__(self) -> Consumer:
        return self

    def __next__(self) -> MessageProxy | None:  # pragma: no cover - interface
        raise NotImplementedError

    def ack(self, message: MessageProxy) -> None:  # pragma: no cover - interface
        """Acknowledge that ``message`` was processed."""
        raise NotImplementedError

    def nack(self, message: MessageProxy) -> None:  # pragma: no cover - interface
        """Move ``message`` to the dead-letter store."""
        raise NotImplementedError

    def requeue(self, messages: Iterable[MessageProxy]) -> None:  # pragma: no cover
        """Put fetched-but-unprocessed messages back on their queue."""
        raise NotImplementedError

    def holds_more(self) -> bool:
        """Whether the next ``__next__`` can return a message already fetched, without asking
        the broker (consumers that fetch in batches say so; the default is no)."""
        return False

    def set_prefetch(self, prefetch: int) -> None:
        """Hold at most ``prefetch`` unacked messages from now on (called from the consuming
        thread). Consumers with a ``prefetch`` attribute take the new value."""
        if hasattr(self, "prefetch"):
            self.prefetch = max(1, prefetch)

    def close(self) -> None:
        """Release the consumer's resources."""
