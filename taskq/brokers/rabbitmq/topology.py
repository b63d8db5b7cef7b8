"""Dramatiq's queue layout on RabbitMQ: each queue ``q`` comes with ``q.DQ`` (delayed messages,
each carrying its ``eta``) and ``q.XQ`` (dead letters, kept ``dead_letter_ttl`` ms), declared
with exactly Dramatiq's arguments so a queue declared by either library is accepted by the
other."""

from __future__ import annotations

from typing import Any

import pika.exceptions

from ...common import dq_name, xq_name
from ...errors import BrokerError
from .dead_letters import DEAD_MESSAGE_TTL


def checked_max_priority(max_priority: int | None) -> int | None:
    """``max_priority`` if it is None or 1 to 255 (what ``x-max-priority`` takes), else
    ValueError."""
    if max_priority is not None and not (isinstance(max_priority, int) and 0 < max_priority <= 255):
        raise ValueError(f"max_priority must be an integer from 1 to 255, got {max_priority!r}")
    return max_priority


def checked_dead_letter_ttl(dead_letter_ttl: int | None) -> int:
    """The ``x-message-ttl`` of ``.XQ`` queues: ``dead_letter_ttl`` if a positive number of
    ms, :data:`~taskq.brokers.rabbitmq.dead_letters.DEAD_MESSAGE_TTL` if None, else
    ValueError."""
    if dead_letter_ttl is None:
        return DEAD_MESSAGE_TTL
    if not isinstance(dead_letter_ttl, int) or dead_letter_ttl <= 0:
        raise ValueError(
            f"RabbitmqBroker: dead_letter_ttl must be a positive number of ms, "
            f"got {dead_letter_ttl!r}"
        )
    return dead_letter_ttl


def queue_arguments(canonical: str, max_priority: int | None) -> dict[str, Any]:
    """The arguments ``canonical`` and its ``.DQ`` are declared with: rejected messages go to
    ``.XQ``, and ``x-max-priority`` when the broker has a ``max_priority``."""
    arguments: dict[str, Any] = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": xq_name(canonical),
    }
    if max_priority:
        arguments["x-max-priority"] = max_priority
    return arguments


def declare_queue_set(
    channel: Any, canonical: str, *, max_priority: int | None, dead_letter_ttl: int
) -> tuple[int, int, int]:
    """Declare ``canonical``, its ``.DQ`` and ``.XQ`` on ``channel``; returns their ready
    message counts. Raises :class:`BrokerError` when a queue exists with other arguments."""
    declarations = [
        (canonical, queue_arguments(canonical, max_priority)),
        (dq_name(canonical), queue_arguments(canonical, max_priority)),
        (xq_name(canonical), {"x-message-ttl": dead_letter_ttl}),
    ]
    counts = []
    for name, arguments in declarations:
        try:
            frame = channel.queue_declare(name, durable=True, arguments=arguments)
        except pika.exceptions.ChannelClosedByBroker as e:
            if e.reply_code != 406:
                raise
            raise BrokerError(
                f"RabbitMQ queue {name!r} already exists with other arguments than "
                f"{arguments} ({e.reply_text}). Use the same max_priority as the "
                "program that declared it, or delete the queue."
            ) from None
        counts.append(frame.method.message_count)
    return counts[0], counts[1], counts[2]
