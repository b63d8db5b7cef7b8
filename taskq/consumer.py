"""The Consumer interface: what ``Broker.consume`` returns, one per queue a worker reads.

Re-exported by :mod:`taskq.broker`, where Dramatiq programs look for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Optional

from .delivery import MessageProxy

__all__ = ["Consumer"]


class Consumer(Iterator[Optional["MessageProxy"]]):
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
