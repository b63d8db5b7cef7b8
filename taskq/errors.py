"""Exceptions raised by taskq. Names follow Dramatiq's so `except` clauses port unchanged:
``DramatiqError`` is :class:`TaskqError` and ``BrokerConnectionError`` is
:class:`ConnectionError`, the same classes under Dramatiq's names."""

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
    """A message could not be decoded; ``field`` names the offending field, if any.

    As in Dramatiq, the third argument may instead be the exception that made decoding fail
    (``DecodeError(message, data, error)``); it is kept as ``error``.
    """

    def __init__(
        self,
        message: str,
        data: bytes | str | None = None,
        field: str | BaseException | None = None,
        *,
        error: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        if isinstance(field, BaseException):
            field, error = None, field
        self.data = data
        self.field = field
        self.error = error


class BrokerError(TaskqError):
    """Base class for broker-related errors."""


class ActorNotFound(BrokerError):
    """No actor with the given name is declared on the broker."""


class QueueNotFound(BrokerError):
    """The given queue has not been declared."""


class QueueJoinTimeout(TaskqError):
    """``broker.join`` ran out of time before the queue drained."""


class ConnectionError(BrokerError):  # noqa: A001 - Dramatiq's name
    """Base class for broker connection errors (Dramatiq 2 calls it BrokerConnectionError)."""


BrokerConnectionError = ConnectionError


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
