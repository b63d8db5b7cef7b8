"""taskq: background jobs for Python, a drop-in for Dramatiq with an embedded SQLite default."""

from __future__ import annotations

from typing import Any

from .actor import Actor, actor
from .broker import Broker, Consumer, DeadLetter, MessageProxy
from .composition import group, pipeline
from .constants import DEFAULT_ABORT_TTL
from .encoder import Encoder, JSONEncoder, PickleEncoder, get_encoder, set_encoder
from .errors import (
    ActorNotFound,
    BrokerConnectionError,
    BrokerError,
    ConnectionClosed,
    ConnectionError,
    ConnectionFailed,
    DecodeError,
    DramatiqError,
    QueueJoinTimeout,
    QueueNotFound,
    RateLimitExceeded,
    Retry,
    TaskqError,
)
from .generic import GenericActor
from .global_broker import get_broker, set_broker, set_default_broker_factory
from .logging import get_logger
from .message import Message
from .middleware import Middleware
from .worker import ConsumerThread, Worker, WorkerThread

__version__ = "0.1.0"


def _default_broker() -> Broker:
    """What :func:`get_broker` makes when no broker was set: see :func:`taskq.urls.default_broker`."""
    # Imported on first use: taskq.urls brings the Events and default Results middleware, which
    # a program that sets its own broker never needs (a third of taskq's own import time).
    from .urls import default_broker

    return default_broker()


set_default_broker_factory(_default_broker)


def abort(message_or_id: Any, *, broker: Broker | None = None, ttl: int | None = None) -> None:
    """Abort a message: skipped if not started yet, interrupted with ``Abort`` if running.

    Needs the ``Abortable`` middleware; ``ttl`` (ms) is how long the abort mark is kept.
    """

    # Imported on first use, like the Abortable middleware it needs (which loads it anyway).
    from .middleware.abort import abort as _abort

    _abort(message_or_id, broker=broker, ttl=DEFAULT_ABORT_TTL if ttl is None else ttl)


__all__ = [
    "Actor",
    "ActorNotFound",
    "Broker",
    "BrokerConnectionError",
    "BrokerError",
    "ConnectionClosed",
    "ConnectionError",
    "ConnectionFailed",
    "Consumer",
    "ConsumerThread",
    "DeadLetter",
    "DecodeError",
    "DramatiqError",
    "Encoder",
    "GenericActor",
    "JSONEncoder",
    "Message",
    "MessageProxy",
    "Middleware",
    "PickleEncoder",
    "QueueJoinTimeout",
    "QueueNotFound",
    "RateLimitExceeded",
    "Retry",
    "TaskqError",
    "Worker",
    "WorkerThread",
    "abort",
    "actor",
    "get_broker",
    "get_encoder",
    "get_logger",
    "group",
    "pipeline",
    "set_broker",
    "set_encoder",
]
