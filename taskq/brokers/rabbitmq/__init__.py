"""The RabbitMQ broker (``RabbitmqBroker``), on pika, with Dramatiq's queue layout.

File roles: ``broker`` (the broker class), ``consumer``, ``admin`` (inspection, queue stats, flush
and join), ``dead_letters``, ``events`` (the fanout exchange), ``connection`` (connections,
failover and retries), ``publish`` (the fast publish path), ``topology`` (each queue's ``.DQ``
and ``.XQ`` and the arguments they are declared with).
"""

from .broker import MAX_DECLARE_ATTEMPTS, MAX_ENQUEUE_ATTEMPTS, RabbitmqBroker
from .connection import _IgnoreScaryLogs as _IgnoreScaryLogs  # Dramatiq's tests import it here
from .consumer import RabbitmqMessageProxy
from .dead_letters import DEAD_MESSAGE_TTL

__all__ = [
    "DEAD_MESSAGE_TTL",
    "MAX_DECLARE_ATTEMPTS",
    "MAX_ENQUEUE_ATTEMPTS",
    "RabbitmqBroker",
    "RabbitmqMessageProxy",
]
