"""An in-process broker for tests, with the same delay and dead-letter semantics as the others."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..broker import Broker, Consumer, DeadLetter, MessageProxy
from ..common import current_millis, dq_name, q_name, validate_queue_name
from ..errors import DecodeError, QueueJoinTimeout, QueueNotFound
from ..message import Message
from ..middleware.middleware import Middleware


class StubDeadLetter(NamedTuple):
    """One entry of ``StubBroker.dead_letters_by_queue``, as the broker records it."""

    raw: bytes
    #: None when the payload could not be decoded.
    message: Message[Any] | None
    reason: str | None
    #: When it was dead-lettered (UNIX ms).
    at: int
    #: What the actor raised, re-raised by ``join(fail_fast=True)``.
    exception: BaseException | None


class StubBroker(Broker):
    """Keeps queues in memory. ``join(queue)`` waits until a queue is drained; ``dead_letters``
    lists every dead-lettered message, as in Dramatiq. As in Dramatiq 2.x, ``join`` re-raises
    the exception of a dead-lettered message unless ``fail_fast_default=False`` (or
    ``join(..., fail_fast=False)``)."""

    holds_results = True

    def __init__(
        self, middleware: list[Middleware] | None = None, *, fail_fast_default: bool = True
    ) -> None:
        super().__init__(middleware=middleware)
        self.fail_fast_default = fail_fast_default
        self.queues: dict[str, queue.Queue[bytes]] = {}
        #: Queue name -> its dead letters. A plain list per queue, as in Dramatiq: an entry a
        #: program appends itself is listed by ``dead_letters`` and cleared by ``flush_all``.
        self.dead_letters_by_queue: defaultdict[str, list[Any]] = defaultdict(list)
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- declaration ----------------------------------------------------------------------
    def declare_queue(self, queue_name: str) -> None:
        """Declare ``queue_name`` and its delay queue."""
        if queue_name in self.queues:
            return
        validate_queue_name(queue_name)
        self.emit_before("declare_queue", queue_name)
        self.queues[queue_name] = queue.Queue()
        self.emit_after("declare_queue", queue_name)
        delayed = dq_name(queue_name)
        self.queues[delayed] = queue.Queue()
        self.delay_queues.add(delayed)
        self.emit_after("declare_delay_queue", delayed)

    def get_declared_queues(self) -> set[str]:
        return {name for name in self.queues if name not in self.delay_queues}

    # -- enqueue and consume --------------------------------------------------------------
    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        queue_name = message.queue_name
        if delay:
            queue_name = dq_name(queue_name)
            message = message.copy(queue_name=queue_name)
            message.options["eta"] = current_millis() + delay
        if queue_name not in self.queues:
            raise QueueNotFound(f"Queue {queue_name!r} is not declared on this broker")
        self.emit_before("enqueue", message, delay or 0)
        self.queues[queue_name].put(message.encode())
        self.emit_after("enqueue", message, delay or 0)
        return message

    def enqueue_raw(self, queue_name: str, payload: bytes) -> None:
        """Put raw bytes on a queue, as a producer in another language might."""
        self.queues[queue_name].put(payload)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 100) -> Consumer:
        try:
            return _StubConsumer(self, queue_name, prefetch, timeout)
        except KeyError:
            raise QueueNotFound(f"Queue {queue_name!r} is not declared") from None

    # -- maintenance ----------------------------------------------------------------------
    def flush(self, queue_name: str) -> None:
        """Drop all messages of ``queue_name``, its delay queue and its dead letters."""
        for name in (queue_name, dq_name(queue_name)):
            q = self.queues[name]
            while True:
                try:
                    q.get_nowait()
                    q.task_done()
                except queue.Empty:
                    break
        self.dead_letters_by_queue.pop(q_name(queue_name), None)

    def flush_all(self) -> None:
        """Flush every queue, and empty every dead-letter list."""
        for name in self.get_declared_queues():
            self.flush(name)
        for letters in self.dead_letters_by_queue.values():
            letters.clear()

    def join(
        self, queue_name: str, *, timeout: int | None = None, fail_fast: bool | None = None
    ) -> None:
        """Wait until ``queue_name`` and its delay queue are drained and acked (``timeout`` ms).

        With ``fail_fast`` (default: ``fail_fast_default``), then raise the exception of the
        first dead-lettered message of the queue, as Dramatiq's StubBroker does.
        """
        if queue_name not in self.queues:
            raise QueueNotFound(f"Queue {queue_name!r} is not declared on this broker")
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        names = (queue_name, dq_name(queue_name))
        while any(self.queues[name].unfinished_tasks for name in names):
            if deadline is not None and time.monotonic() > deadline:
                raise QueueJoinTimeout(f"Queue {queue_name!r} did not drain in {timeout} ms")
            time.sleep(0.002)
        should_fail_fast = self.fail_fast_default if fail_fast is None else fail_fast
        if should_fail_fast:
            for _, message, reason, _, exception in self._records(queue_name):
                raise exception or RuntimeError(f"Message {message} failed: {reason}")

    # -- inspection -----------------------------------------------------------------------
    @property
    def dead_letters(self) -> list[Message[Any]]:
        """Every decodable dead-lettered message, across queues (and any entry a program
        appended to ``dead_letters_by_queue`` itself, as it is)."""
        found: list[Message[Any]] = []
        for letters in self.dead_letters_by_queue.values():
            for letter in letters:
                if not isinstance(letter, StubDeadLetter):
                    found.append(letter)
                elif letter.message is not None:
                    found.append(letter.message)
        return found

    def _records(self, queue_name: str) -> list[StubDeadLetter]:
        """The dead letters of ``queue_name`` this broker recorded."""
        letters = self.dead_letters_by_queue.get(q_name(queue_name), [])
        return [letter for letter in letters if isinstance(letter, StubDeadLetter)]

    def queue_stats(self) -> dict[str, dict[str, int]]:
        stats = {}
        for name in sorted(self.get_declared_queues()):
            delayed = dq_name(name)
            stats[name] = {
                "ready": self.queues[name].qsize(),
                "delayed": self.queues[delayed].unfinished_tasks,
                "in_flight": self._in_flight.get(name, 0),
                "dead": len(self._records(name)),
            }
        return stats

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        letters = self._records(queue_name)
        return [
            DeadLetter(
                message.message_id if message else f"raw-{i}", queue_name, raw, message, reason, at
            )
            for i, (raw, message, reason, at, _) in reversed(list(enumerate(letters)))
        ][:limit]

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        wanted = set(message_ids)
        name = q_name(queue_name)
        kept, moved = [], 0
        for letter in self.dead_letters_by_queue.get(name, []):
            message = letter.message if isinstance(letter, StubDeadLetter) else None
            if message is not None and message.message_id in wanted:
                self.queues[name].put(message.encode())
                moved += 1
            else:
                kept.append(letter)
        self.dead_letters_by_queue[name] = kept
        return moved

    def purge_dead_letters(self, queue_name: str) -> int:
        return len(self.dead_letters_by_queue.pop(q_name(queue_name), []))

    def _dead_letter(
        self,
        queue_name: str,
        raw: bytes,
        message: Message[Any] | None,
        reason: str | None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            letters = self.dead_letters_by_queue[q_name(queue_name)]
            letters.append(StubDeadLetter(raw, message, reason, current_millis(), exception))

    def _track(self, queue_name: str, delta: int) -> None:
        with self._lock:
            self._in_flight[queue_name] = self._in_flight.get(queue_name, 0) + delta


class _StubConsumer(Consumer):
    def __init__(self, broker: StubBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.queue = broker.queues[queue_name]
        self.prefetch = prefetch
        self.timeout = timeout / 1000
        self.outstanding = 0
        self._room = threading.Condition()

    def __next__(self) -> MessageProxy | None:
        with self._room:
            if self.outstanding >= self.prefetch:
                self._room.wait(self.timeout)
                if self.outstanding >= self.prefetch:
                    return None
        try:
            raw = self.queue.get(timeout=self.timeout)
        except queue.Empty:
            return None
        try:
            message = Message.decode(raw)
        except DecodeError as e:
            self.broker.logger.error(
                "Dead-lettering an undecodable message on %s: %s", self.queue_name, e
            )
            self.broker._dead_letter(self.queue_name, raw, None, str(e))
            self.queue.task_done()
            return None
        with self._room:
            self.outstanding += 1
        self.broker._track(q_name(self.queue_name), 1)
        return MessageProxy(message)

    def _settle(self) -> None:
        self.broker._track(q_name(self.queue_name), -1)
        with self._room:
            self.outstanding -= 1
            self._room.notify()
        self.queue.task_done()

    def ack(self, message: MessageProxy) -> None:
        self._settle()

    def nack(self, message: MessageProxy) -> None:
        reason = message.reason or message.options.get("traceback")
        self.broker._dead_letter(
            self.queue_name, message.message.encode(), message.message, reason, message._exception
        )
        self._settle()

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        for message in messages:
            self.queue.put(message.message.encode())
            self._settle()
