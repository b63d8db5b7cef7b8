"""Exceptions raised by taskq. Names follow Dramatiq's so `except` clauses port unchanged."""

from __future__ import annotations


class TaskqError(Exception):
    """Base class for all taskq errors."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message) or repr(self)


DramatiqError = TaskqError


class DecodeError(TaskqError):
    """A message could not be decoded; ``field`` names the offending field, if any."""

    def __init__(self, message: str, data: bytes | str | None = None, field: str | None = None):
        super().__init__(message)
        self.data = data
        self.field = field


class BrokerError(TaskqError):
    """Base class for broker-related errors."""


class ActorNotFound(BrokerError):
    """No actor with the given name is declared on the broker."""


class QueueNotFound(BrokerError):
    """The given queue has not been declared."""


class QueueJoinTimeout(TaskqError):
    """``broker.join`` ran out of time before the queue drained."""


class ConnectionError(BrokerError):  # noqa: A001 - Dramatiq's name
    """Base class for broker connection errors."""


class ConnectionFailed(ConnectionError):
    """The broker could not be reached."""


class ConnectionClosed(ConnectionError):
    """The broker connection was closed."""


class RateLimitExceeded(TaskqError):
    """A rate limiter refused to run the guarded code."""


class Retry(TaskqError):
    """Raise from an actor to retry it without counting as an error; ``delay`` in ms."""

    def __init__(self, message: str = "", delay: int | None = None) -> None:
        super().__init__(message)
        self.delay = delay
