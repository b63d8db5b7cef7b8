"""Inspection and maintenance for the RabbitMQ broker: queue counts and stats, flushing and
joining queues, dead letters.

Composed into :class:`taskq.brokers.rabbitmq.RabbitmqBroker` as its ``admin`` (the broker keeps
thin methods of the same names); it only uses the broker's producer channel and retry policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import pika
import pika.exceptions

from ...broker import DeadLetter
from ...common import dq_name, q_name, xq_name
from ...errors import QueueJoinTimeout
from . import dead_letters
from .connection import close_quietly, is_channel_error

if TYPE_CHECKING:
    from .broker import RabbitmqBroker

T = TypeVar("T")


class RabbitmqAdmin:
    """Queue counts, flush and join, and dead letters, on top of the broker's connections."""

    def __init__(self, broker: RabbitmqBroker) -> None:
        self.broker = broker

    # -- maintenance ----------------------------------------------------------------------
    def get_queue_message_counts(self, queue_name: str) -> tuple[int, int, int]:
        """Ready messages in the queue, its delay queue and its dead-letter queue."""
        canonical = q_name(queue_name)
        return self.broker.retry(
            lambda: self.broker.declare_on_channel(self.broker.channel, canonical), "count"
        )

    def flush(self, queue_name: str) -> None:
        """Drop every message of ``queue_name``, its delay queue and its dead letters."""
        for name in (q_name(queue_name), dq_name(queue_name), xq_name(queue_name)):
            self.broker.retry(partial(self._purge, name), f"purge {name!r}")

    def flush_all(self) -> None:
        """Flush every declared queue."""
        for queue_name in list(self.broker.queues):
            self.flush(queue_name)

    def _purge(self, name: str) -> int:
        channel = self.broker.channel
        try:
            return channel.queue_purge(name).method.message_count
        except pika.exceptions.ChannelClosedByBroker as e:
            if e.reply_code != 404:
                raise
            del self.broker.channel  # the queue does not exist: nothing to purge
            return 0

    def join(
        self,
        queue_name: str,
        min_successes: int = 10,
        idle_time: int = 100,
        *,
        timeout: int | None = None,
    ) -> None:
        """Wait until ``queue_name`` and its delay queue are empty and nothing fetched by this
        broker's consumers is unacked, ``min_successes`` polls in a row, ``idle_time`` ms
        apart; raise :class:`QueueJoinTimeout` after ``timeout`` ms."""
        canonical = q_name(queue_name)
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        successes = 0
        while successes < min_successes:
            if deadline is not None and time.monotonic() >= deadline:
                raise QueueJoinTimeout(f"Queue {canonical!r} did not drain in {timeout} ms")
            ready, delayed, _ = self.get_queue_message_counts(canonical)
            busy = (
                ready + delayed + self.broker.held(canonical) + self.broker.held(dq_name(canonical))
            )
            successes = successes + 1 if busy == 0 else 0
            time.sleep(idle_time / 1000)

    # -- inspection -----------------------------------------------------------------------
    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per declared queue: ready, delayed, in_flight and dead counts.

        ``in_flight`` counts deliveries unacked by this process's consumers (AMQP does not
        report other consumers' unacked messages)."""
        stats = {}
        for name in sorted(self.broker.queues):
            ready, delayed, dead = self.get_queue_message_counts(name)
            stats[name] = {
                "ready": ready,
                "delayed": delayed + self.broker.held(dq_name(name)),
                "in_flight": self.broker.held(name),
                "dead": dead,
            }
        return stats

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first.

        Reads the whole ``.XQ`` queue (up to ``BROWSE_LIMIT`` letters, one round trip each)."""
        return self._with_dead_letter_channel(
            queue_name,
            lambda channel: dead_letters.browse_dead_letters(channel, queue_name, limit=limit),
            [],
            "list dead letters",
        )

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move the given dead letters back onto ``queue_name``; returns how many moved."""
        ids = list(message_ids)

        def requeue(channel: Any) -> int:
            channel.confirm_delivery()
            self.broker.declare_on_channel(channel, q_name(queue_name))
            return dead_letters.requeue_dead_letters(channel, queue_name, ids)

        return self._with_dead_letter_channel(queue_name, requeue, 0, "requeue dead letters")

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        return self._with_dead_letter_channel(
            queue_name,
            lambda channel: channel.queue_purge(xq_name(queue_name)).method.message_count,
            0,
            "purge dead letters",
        )

    def _with_dead_letter_channel(
        self, queue_name: str, action: Callable[[Any], T], missing: T, what: str
    ) -> T:
        """Run ``action`` on a fresh channel (closed afterwards, which returns any letters it
        took unacked); ``missing`` when the dead-letter queue does not exist."""

        def attempt() -> T:
            channel = self.broker.connection.channel()
            try:
                channel.queue_declare(xq_name(queue_name), passive=True)
            except pika.exceptions.ChannelClosedByBroker as e:
                if is_channel_error(e, 404):
                    return missing
                raise
            try:
                return action(channel)
            finally:
                close_quietly(channel)

        return self.broker.retry(attempt, f"{what} of {queue_name!r}")
