"""The ``.XQ`` dead-letter queues of the RabbitMQ broker: the headers a dead letter carries
(why and when it died), browsing and requeueing.

AMQP cannot peek at a queue, so browsing takes every dead letter with ``basic_get`` without
acking it and closes the channel afterwards, which puts them all back in their original order.
Cost: one round trip per dead letter (at most ``BROWSE_LIMIT`` per call); while a browse runs,
the letters it holds are invisible to other browsers. Dead letters expire after
``DEAD_MESSAGE_TTL`` ms, as in Dramatiq, which bounds the queue.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pika

from ...broker import DeadLetter
from ...common import current_millis, q_name, xq_name
from ..shared import dead_letter_entry

#: Header holding why a message was dead-lettered.
REASON_HEADER = "x-taskq-reason"
#: Header holding when (UNIX ms) a message was dead-lettered.
DEAD_AT_HEADER = "x-taskq-dead-at"
#: Dead-letter reasons longer than this are truncated to keep headers small.
MAX_REASON_LENGTH = 16_384
#: How long (ms) a dead letter is kept: Dramatiq's value and environment variable, so queues
#: declared by either side have equal arguments.
DEAD_MESSAGE_TTL = int(
    os.getenv("taskq_dead_message_ttl")  # noqa: SIM112 - lower case, like Dramatiq's name
    or os.getenv("dramatiq_dead_message_ttl")  # noqa: SIM112 - Dramatiq's variable
    or 86400000 * 7
)
#: The most dead letters one browse, requeue or listing looks at.
BROWSE_LIMIT = 10_000


def dead_letter_properties(
    message_id: str, reason: str | None, priority: int | None = None
) -> pika.BasicProperties:
    """Properties of a message published to a dead-letter queue, with its reason."""
    headers: dict[str, Any] = {DEAD_AT_HEADER: current_millis()}
    if reason:
        headers[REASON_HEADER] = reason[:MAX_REASON_LENGTH]
    return pika.BasicProperties(
        delivery_mode=2, message_id=message_id, headers=headers, priority=priority
    )


def browse_dead_letters(channel: Any, queue_name: str, *, limit: int) -> list[DeadLetter]:
    """Up to ``limit`` dead letters of ``queue_name``, newest first.

    Takes the letters unacked on ``channel``; the caller must close the channel to return them.
    """
    letters: list[tuple[int, DeadLetter]] = []
    for position in range(BROWSE_LIMIT):
        method, properties, body = channel.basic_get(xq_name(queue_name), auto_ack=False)
        if method is None:
            break
        letters.append((position, to_dead_letter(queue_name, properties, body)))
    letters.sort(key=lambda item: (item[1].dead_at or 0, item[0]), reverse=True)
    return [letter for _, letter in letters[:limit]]


def requeue_dead_letters(channel: Any, queue_name: str, message_ids: Iterable[str]) -> int:
    """Move the dead letters whose ids are in ``message_ids`` back to ``queue_name``.

    ``channel`` must be in confirm mode: each copy is confirmed before its dead letter is acked.
    The caller closes the channel, which returns the letters that were not moved.
    """
    wanted = set(message_ids)
    if not wanted:
        return 0
    moved = 0
    target = q_name(queue_name)
    for _ in range(BROWSE_LIMIT):
        method, properties, body = channel.basic_get(xq_name(queue_name), auto_ack=False)
        if method is None:
            break
        letter = to_dead_letter(queue_name, properties, body)
        if letter.message_id not in wanted:
            continue
        channel.basic_publish(
            exchange="",
            routing_key=target,
            body=body,
            properties=pika.BasicProperties(
                delivery_mode=2,
                message_id=letter.message_id,
                priority=getattr(properties, "priority", None),
            ),
            mandatory=True,
        )
        channel.basic_ack(method.delivery_tag)
        moved += 1
    return moved


def to_dead_letter(queue_name: str, properties: Any, body: bytes) -> DeadLetter:
    """A :class:`DeadLetter` from a message of a ``.XQ`` queue.

    Reads taskq's reason headers, or the ``x-death`` header RabbitMQ adds when a Dramatiq
    worker rejects a message.
    """
    headers = getattr(properties, "headers", None) or {}
    reason = _text(headers.get(REASON_HEADER))
    dead_at = headers.get(DEAD_AT_HEADER)
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        if reason is None:
            reason = f"{_text(deaths[0].get('reason'))} by a RabbitMQ consumer"
        if dead_at is None:
            dead_at = deaths[0].get("time")
    fallback_id = getattr(properties, "message_id", None) or (
        "raw-" + hashlib.sha1(body).hexdigest()[:16]
    )
    return dead_letter_entry(
        queue_name, body, reason=reason, dead_at=_millis(dead_at), fallback_id=fallback_id
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _millis(value: Any) -> int | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # pika decodes AMQP timestamps as naive UTC
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, int):
        return value
    return None
