"""The SQLite consumer (leases messages, polls with a capped back-off) and the lease keeper
(renews the leases of running messages and writes this process's heartbeat)."""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Protocol, TypeVar

from ...broker import Consumer, MessageProxy
from ...common import current_millis
from ..shared import decode_or_dead_letter, nack_reason
from .admin import move_to_dead_letters
from .errors import DatabaseFull
from .reserve import SpaceReserve
from .schema import DELAYED, LEASED, READY, Database, placeholders

T = TypeVar("T")


class LeaseHost(Protocol):
    """What a :class:`SQLiteConsumer` and the :class:`LeaseKeeper` use of their broker
    (:class:`~taskq.brokers.sqlite.SQLiteBroker` is one)."""

    db: Database
    visibility_timeout: int
    dead_letter_ttl: int
    #: Disk space held back for workers (see :func:`with_space`).
    reserve: SpaceReserve

    def lease_keeper(self) -> LeaseKeeper:
        """This process's lease keeper."""
        ...


logger = logging.getLogger("taskq.brokers.sqlite")

#: First and longest pause between polls of an idle queue (seconds). The cap bounds how long
#: a new message waits before an idle consumer sees it.
MIN_POLL_INTERVAL = 0.001
MAX_POLL_INTERVAL = 0.04
#: Heartbeats older than this (ms) are deleted: their process is long gone.
FORGET_AFTER = 3600_000
#: SQLite limits the number of ``?`` in one statement; stay well below it.
CHUNK = 500


def with_space(reserve: SpaceReserve, operation: Callable[..., T], *args: Any) -> T:
    """Run a worker's ``operation``; if the disk is full, release ``reserve`` (see
    :mod:`.reserve`) and try once more, so workers can drain a full disk."""
    try:
        return operation(*args)
    except DatabaseFull:
        if not reserve.release():
            raise
        return operation(*args)


class SQLiteConsumer(Consumer):
    """Leases up to ``prefetch`` messages of one queue; the lease keeper renews the leases
    while they run, so only the messages of a dead consumer are redelivered."""

    def __init__(self, broker: LeaseHost, queue_name: str, prefetch: int, timeout: int) -> None:
        self.broker = broker
        self.db = broker.db
        self.queue_name = queue_name
        self.prefetch = max(1, prefetch)
        self.timeout = timeout / 1000
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leased: set[int] = set()
        self._buffer: collections.deque[MessageProxy] = collections.deque()
        self._settled = threading.Condition()
        self._pause = MIN_POLL_INTERVAL
        self._closed = False
        # Acks of finished messages wait in _ack_batch (guarded by _settled) while one thread
        # deletes a batch: the next batch goes in one transaction, not one per message.
        self._ack_batch: list[int] = []
        self._ack_flushing = False
        broker.lease_keeper().add(self)

    # -- fetching -------------------------------------------------------------------------
    def __next__(self) -> MessageProxy | None:
        deadline = time.monotonic() + self.timeout
        while True:
            if self._buffer:
                return self._buffer.popleft()
            with self._settled:
                room = self.prefetch - len(self._leased)
            if room > 0 and with_space(self.broker.reserve, self._fetch, room):
                self._pause = MIN_POLL_INTERVAL
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if room <= 0:
                with self._settled:  # woken by ack / nack / requeue: no polling while full
                    self._settled.wait(remaining)
                continue
            time.sleep(min(self._pause, remaining))
            self._pause = min(self._pause * 2, MAX_POLL_INTERVAL)

    def holds_more(self) -> bool:
        """Whether leased messages wait in this consumer's buffer."""
        return bool(self._buffer)

    def _fetch(self, limit: int) -> bool:
        """Lease up to ``limit`` ready messages; dead-letter undecodable ones. True if any."""
        now = current_millis()
        if not self._anything_ready(now):
            return False
        undecodable = False
        fetched: list[MessageProxy] = []
        with self.db.transaction() as connection:
            # Delayed messages that are due and leases that expired become ready again.
            connection.execute(
                "UPDATE taskq_messages SET state = ?, lease_owner = NULL"
                " WHERE queue_name = ? AND state IN (?, ?) AND visible_at <= ?",
                (READY, self.queue_name, DELAYED, LEASED, now),
            )
            rows = connection.execute(
                "UPDATE taskq_messages"
                " SET state = ?, lease_owner = ?, visible_at = ?, deliveries = deliveries + 1"
                " WHERE id IN (SELECT id FROM taskq_messages WHERE queue_name = ? AND state = ?"
                "   ORDER BY priority, id LIMIT ?)"
                " RETURNING id, priority, payload",
                (
                    LEASED,
                    self.owner,
                    now + self.broker.visibility_timeout,
                    self.queue_name,
                    READY,
                    limit,
                ),
            ).fetchall()
            for row_id, _, payload in sorted(rows, key=lambda row: (row[1], row[0])):
                raw = payload.encode() if isinstance(payload, str) else bytes(payload)
                message = decode_or_dead_letter(
                    raw,
                    partial(self._move_to_dead_letters, connection, row_id, None, raw),
                    logger=logger,
                    queue_name=self.queue_name,
                    label=f"#{row_id}",
                )
                if message is None:
                    undecodable = True
                else:
                    fetched.append(MessageProxy(message, row_id))
        if fetched:
            with self._settled:
                self._leased.update(proxy._fetch_state for proxy in fetched)
            self._buffer.extend(fetched)
        return bool(fetched) or undecodable

    def _anything_ready(self, now: int) -> bool:
        """A read-only check, so idle polls never take the write lock."""
        rows = self.db.read(
            "SELECT EXISTS (SELECT 1 FROM taskq_messages WHERE queue_name = ? AND state = ?)"
            " OR EXISTS (SELECT 1 FROM taskq_messages"
            "   WHERE queue_name = ? AND state IN (?, ?) AND visible_at <= ?)",
            (self.queue_name, READY, self.queue_name, DELAYED, LEASED, now),
        )
        return bool(rows[0][0])

    # -- settling (any thread) ------------------------------------------------------------
    def ack(self, message: MessageProxy) -> None:
        """Delete the processed message.

        Acks are group-committed: the first worker thread to ack deletes its message and every
        one acked while it did so, one transaction per batch, so threads finishing together
        do not queue one by one for the write lock. Until deleted, a message keeps its
        (renewed) lease, so a process that dies first has it redelivered.
        """
        with self._settled:
            self._ack_batch.append(message._fetch_state)
            if self._ack_flushing:
                return
            self._ack_flushing = True
        self._flush_acks()

    def _flush_acks(self) -> None:
        try:
            while True:
                with self._settled:
                    batch, self._ack_batch = self._ack_batch, []
                    if not batch:
                        self._ack_flushing = False
                        return
                try:
                    with_space(self.broker.reserve, self._delete, batch)
                finally:
                    self._settle(batch)
        except BaseException:
            with self._settled:
                self._ack_flushing = False
            raise

    def _delete(self, row_ids: list[int]) -> None:
        with self.db.transaction() as connection:
            for start in range(0, len(row_ids), CHUNK):
                chunk = row_ids[start : start + CHUNK]
                connection.execute(
                    f"DELETE FROM taskq_messages WHERE id IN ({placeholders(len(chunk))})", chunk
                )

    def nack(self, message: MessageProxy) -> None:
        """Move the message to the dead letters with ``message.reason`` (or its traceback)."""
        row_id = message._fetch_state
        reason = nack_reason(message)
        try:
            with_space(self.broker.reserve, self._dead_letter, row_id, message, reason)
        finally:
            self._settle([row_id])

    def _dead_letter(self, row_id: int, message: MessageProxy, reason: str | None) -> None:
        with self.db.transaction() as connection:
            self._move_to_dead_letters(
                connection, row_id, message.message_id, message.message.encode(), reason
            )

    def _move_to_dead_letters(
        self,
        connection: sqlite3.Connection,
        row_id: int,
        message_id: str | None,
        raw: bytes,
        reason: str | None,
    ) -> None:
        move_to_dead_letters(
            connection,
            row_id,
            self.queue_name,
            message_id,
            raw,
            reason,
            ttl=self.broker.dead_letter_ttl,
        )

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        """Make fetched-but-unprocessed messages ready again, keeping their place in line."""
        row_ids = [message._fetch_state for message in messages]
        try:
            with self.db.transaction() as connection:
                for start in range(0, len(row_ids), CHUNK):
                    chunk = row_ids[start : start + CHUNK]
                    connection.execute(
                        "UPDATE taskq_messages SET state = ?, lease_owner = NULL, visible_at = ?"
                        f" WHERE lease_owner = ? AND id IN ({placeholders(len(chunk))})",
                        (READY, current_millis(), self.owner, *chunk),
                    )
        finally:
            self._settle(row_ids)

    def _settle(self, row_ids: list[int]) -> None:
        with self._settled:
            self._leased.difference_update(row_ids)
            self._settled.notify_all()
            finished = self._closed and not self._leased
        if finished:
            self.broker.lease_keeper().remove(self)

    def leased_ids(self) -> list[int]:
        """Row ids this consumer holds a lease on (fetched, not yet settled)."""
        with self._settled:
            return list(self._leased)

    def close(self) -> None:
        """Requeue fetched messages never handed out. Messages still running keep their
        (renewed) lease until they are acked or nacked, which stays possible after close."""
        self._closed = True
        buffered, self._buffer = list(self._buffer), collections.deque()
        if buffered:
            self.requeue(buffered)
        else:
            self._settle([])


class LeaseKeeper(threading.Thread):
    """One thread per broker and process: renews the leases of every open consumer each
    ``interval`` and records this process in the workers table (its heartbeat)."""

    def __init__(self, broker: LeaseHost, interval: float) -> None:
        super().__init__(name="taskq-sqlite-leases", daemon=True)
        self.broker = broker
        self.interval = interval
        self.pid = os.getpid()
        self.worker_id = f"{socket.gethostname()}:{self.pid}"
        self.started_at = current_millis()
        self.consumers: set[SQLiteConsumer] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def add(self, consumer: SQLiteConsumer) -> None:
        with self.lock:
            self.consumers.add(consumer)
        self._beat()
        if not self.is_alive() and not self.stopped.is_set():
            self.start()

    def remove(self, consumer: SQLiteConsumer) -> None:
        with self.lock:
            self.consumers.discard(consumer)
            last = not self.consumers
        if last:
            self._forget_worker()

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(self.interval + 1)
        self._forget_worker()

    def run(self) -> None:
        failing = False
        while not self.stopped.wait(self.interval):
            try:
                with_space(self.broker.reserve, self.renew)
                self._beat()
            except Exception as e:  # a locked or full file: retry on the next tick
                if not failing:
                    logger.warning("Could not renew message leases (retrying): %s", e)
                failing = True
            else:
                if failing:
                    logger.info("Renewing message leases works again.")
                failing = False

    def renew(self) -> None:
        """Push back the lease expiry of every message an open consumer holds."""
        with self.lock:
            consumers = list(self.consumers)
        expires = current_millis() + self.broker.visibility_timeout
        for consumer in consumers:
            row_ids = consumer.leased_ids()
            for start in range(0, len(row_ids), CHUNK):
                chunk = row_ids[start : start + CHUNK]
                self.broker.db.write(
                    "UPDATE taskq_messages SET visible_at = ?"
                    f" WHERE lease_owner = ? AND id IN ({placeholders(len(chunk))})",
                    (expires, consumer.owner, *chunk),
                )

    def _beat(self) -> None:
        with self.lock:
            if not self.consumers:
                return
            queues = sorted({consumer.queue_name for consumer in self.consumers})
        host, pid = self.worker_id.rsplit(":", 1)
        now = current_millis()
        with self.broker.db.transaction() as connection:
            connection.execute(
                "INSERT INTO taskq_workers"
                " (worker_id, hostname, pid, queues, started_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (worker_id)"
                " DO UPDATE SET queues = excluded.queues, last_seen = excluded.last_seen",
                (self.worker_id, host, int(pid), json.dumps(queues), self.started_at, now),
            )
            # Forget processes that died without saying goodbye long ago.
            connection.execute(
                "DELETE FROM taskq_workers WHERE last_seen < ?", (now - FORGET_AFTER,)
            )

    def _forget_worker(self) -> None:
        try:
            self.broker.db.write("DELETE FROM taskq_workers WHERE worker_id = ?", (self.worker_id,))
        except Exception:
            logger.debug("Could not remove the heartbeat of %s.", self.worker_id, exc_info=True)
