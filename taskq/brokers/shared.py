"""Rules every broker applies the same way: decoding a fetched payload or dead-lettering it,
the reason recorded when a message is nacked (:func:`taskq.delivery.nack_reason`, shared with
the Events middleware), and building a :class:`DeadLetter` listing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..common import q_name
from ..delivery import DeadLetter, nack_reason
from ..errors import DecodeError
from ..message import Message

__all__ = ["dead_letter_entry", "decode_or_dead_letter", "decode_or_none", "nack_reason"]


def decode_or_none(raw: bytes) -> Message[Any] | None:
    """The message in ``raw``, or None when it does not decode (a dead letter may hold bytes
    that never were a message)."""
    try:
        return Message.decode(raw)
    except DecodeError:
        return None


def decode_or_dead_letter(
    raw: bytes,
    dead_letter: Callable[[str], None],
    *,
    logger: logging.Logger,
    queue_name: str,
    label: str = "",
) -> Message[Any] | None:
    """Decode a fetched payload; when it is not a valid message, log it once on ``logger``
    (naming the message by ``label`` and ``queue_name``), call ``dead_letter(reason)`` and
    return None, so the consumer carries on with the next message."""
    try:
        return Message.decode(raw)
    except DecodeError as e:
        reason = str(e)
    what = f"undecodable message {label}" if label else "an undecodable message"
    logger.error("Dead-lettering %s on %s: %s", what, queue_name, reason)
    dead_letter(reason)
    return None


def dead_letter_entry(
    queue_name: str,
    raw: bytes,
    *,
    reason: str | None,
    dead_at: int | None,
    fallback_id: str,
    message_id: str | None = None,
) -> DeadLetter:
    """A :class:`DeadLetter` for stored bytes: identified by ``message_id`` when the store
    kept one, else by the decoded message's id, else (undecodable) by ``fallback_id``."""
    message = decode_or_none(raw)
    identifier = message_id or (message.message_id if message is not None else fallback_id)
    return DeadLetter(identifier, q_name(queue_name), raw, message, reason, dead_at)
