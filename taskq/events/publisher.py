"""Events: publish each message's lifecycle (enqueued, started, succeeded, failed, retried,
dead_lettered, skipped) on the broker, for ``taskq events``, the TUI and notebooks.

Publishing is fire-and-forget: hooks put events on a bounded in-memory queue and one daemon
thread hands whatever has queued up to ``broker.publish_events`` at once (Redis sends a batch
in one round trip). A slow or broken transport drops events (logged
once), it never slows the worker.
"""

from __future__ import annotations

import atexit
import logging
import os
import platform
import queue
import threading
import time
import traceback
import weakref
from typing import TYPE_CHECKING, Any

from ..common import current_millis, q_name
from ..delivery import nack_reason
from ..encoder import dumps_lenient, loads_json
from ..middleware.middleware import Middleware
from ..options import lookup_option
from .schema import EventKind, EventRecord

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy
    from ..message import Message
    from ..worker import Worker

logger = logging.getLogger("taskq.middleware.events")

#: Longest JSON text (characters) kept for args, kwargs, options and results in an event.
MAX_FIELD_SIZE = 2048
#: Longest traceback text (characters) kept in a ``failed`` or ``dead_lettered`` event: 64 KiB,
#: so the TUI's detail pane shows a traceback in full. A longer one (deep recursion) keeps its
#: start and its end, the part that names the error, with a note of what was cut between.
MAX_TRACEBACK_SIZE = 65_536
_HOSTNAME = platform.node()  # as socket.gethostname(), without importing socket
_publishers: weakref.WeakSet[Events] = weakref.WeakSet()


def bounded_traceback(text: str, limit: int = MAX_TRACEBACK_SIZE) -> str:
    """``text`` whole when it fits ``limit`` characters, else its first quarter and its last
    three quarters (where the error is) around a line saying how much was cut."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"


def bounded(value: Any, limit: int = MAX_FIELD_SIZE) -> Any:
    """``value`` as JSON-safe data, or a truncated JSON string when it is too large."""
    text = dumps_lenient(value)
    if len(text) <= limit:
        return loads_json(text)
    return text[:limit] + "…"


#: Most events handed to the broker at once (queued events go out together, in order).
PUBLISH_BATCH = 500


def _runs_by_broker(batch: list[tuple[Any, dict[str, Any]]]) -> list[tuple[Any, list[Any]]]:
    """Split ``(broker, event)`` pairs into consecutive runs of one broker, order kept."""
    runs: list[tuple[Any, list[Any]]] = []
    for broker, event in batch:
        if runs and runs[-1][0] is broker:
            runs[-1][1].append(event)
        else:
            runs.append((broker, [event]))
    return runs


class Events(Middleware):
    """Publish lifecycle events with ``broker.publish_event``; ``max_pending`` bounds the
    events waiting to be published (older ones are kept, newer ones dropped when full)."""

    def __init__(self, *, max_pending: int = 10_000) -> None:
        self.max_pending = max_pending
        self.dropped = 0
        self._queue: queue.Queue[tuple[Broker, dict[str, Any]]] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._thread_pid: int | None = None
        self._lock = threading.Lock()
        self._current = threading.local()  # the message each worker thread is processing
        self._sending = threading.local()  # when each thread began enqueueing a message
        self._error_logged = False
        _publishers.add(self)

    # -- publishing -----------------------------------------------------------------------
    def emit(self, broker: Broker, kind: EventKind, message: Message[Any], **extra: Any) -> None:
        """Queue one event about ``message`` for publishing; never blocks."""
        event = EventRecord(
            kind=kind,
            message_id=message.message_id,
            queue_name=q_name(message.queue_name),
            actor_name=message.actor_name,
            timestamp=current_millis(),
            worker=f"{_HOSTNAME}:{os.getpid()}",
            extra=extra,
        ).to_dict()
        self._ensure_thread()
        try:
            self._queue.put_nowait((broker, event))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning("Event queue full (%d): dropping events.", self.max_pending)

    def flush(self, timeout: int = 1000) -> bool:
        """Wait up to ``timeout`` ms until every queued event was handed to the broker."""
        deadline = time.monotonic() + timeout / 1000
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or self._thread_pid != os.getpid():
                return False
            time.sleep(0.005)
        return True

    def _ensure_thread(self) -> None:
        if self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread_pid != os.getpid():  # first event, or first after a fork
                self._queue = queue.Queue(self.max_pending)
                self._thread = threading.Thread(
                    target=self._publish_forever, name="taskq-events", daemon=True
                )
                self._thread.start()
                self._thread_pid = os.getpid()

    def _publish_forever(self) -> None:
        events = self._queue
        while True:
            batch = [events.get()]
            while len(batch) < PUBLISH_BATCH:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            try:
                for broker, run in _runs_by_broker(batch):
                    broker.publish_events(run)
                self._error_logged = False
            except Exception as e:
                if not self._error_logged:
                    logger.error(
                        "Could not publish events (%s: %s); dropping them.", type(e).__name__, e
                    )
                    self._error_logged = True
            finally:
                for _ in batch:
                    events.task_done()

    # -- hooks ----------------------------------------------------------------------------
    def _processing(self, message_id: str) -> dict[str, Any] | None:
        current = getattr(self._current, "message", None)
        return current if current is not None and current["id"] == message_id else None

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        current = self._processing(message.message_id)
        if current is None:
            # "enqueued" is published once the broker has the message, stamped with the
            # time before, so it sorts before a "started" a worker may publish first.
            self._sending.__dict__.setdefault("times", {})[message.message_id] = current_millis()
            return
        if current.get("retried"):
            return
        # The thread re-enqueues the message it is processing: a retry. Announce it before
        # the broker has it, so no worker can start it before "retried" is published.
        current["retried"] = True
        eta = message.options.get("eta") or (current_millis() + delay if delay else None)
        self.emit(
            broker, EventKind.RETRIED, message, retries=message.options.get("retries", 0), eta=eta
        )

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        message_id = message.message_id
        if self._processing(message_id) is not None:  # the retry, announced before
            return
        sent_at = self._sending.__dict__.get("times", {}).pop(message_id, None)
        if getattr(self._current, "holds_delayed", False):
            return  # a delay-queue consumer moving a due message to its queue
        self.emit(
            broker,
            EventKind.ENQUEUED,
            message,
            timestamp=sent_at or current_millis(),
            args=bounded(list(message.args)),
            kwargs=bounded(message.kwargs),
            options=bounded(_visible_options(message.options)),
            eta=message.options.get("eta"),
        )

    def before_delay_message(self, broker: Broker, message: MessageProxy) -> None:
        self._current.holds_delayed = True  # this thread only enqueues to promote messages

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        self._current.message = {"id": message.message_id, "start": current_millis()}
        self.emit(
            broker,
            EventKind.STARTED,
            message.message,
            args=bounded(list(message.args)),
            kwargs=bounded(message.kwargs),
            options=bounded(_visible_options(message.options)),
            retries=message.options.get("retries", 0),
        )

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        current = self._processing(message.message_id)
        duration = current_millis() - current["start"] if current else 0
        if exception is None:
            extra: dict[str, Any] = {}
            if _stores_results(broker, message):
                extra["result"] = bounded(repr(result))
            self.emit(broker, EventKind.SUCCEEDED, message.message, duration_ms=duration, **extra)
            return
        text = "".join(
            traceback.format_exception(type(exception), exception, exception.__traceback__)
        )
        self.emit(
            broker,
            EventKind.FAILED,
            message.message,
            duration_ms=duration,
            retries=message.options.get("retries", 0),
            exception_type=type(exception).__name__,
            exception=str(exception)[:MAX_FIELD_SIZE],
            traceback=bounded_traceback(text),
        )

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        self.emit(broker, EventKind.SKIPPED, message.message)

    def after_ack(self, broker: Broker, message: MessageProxy) -> None:
        self._current.message = None

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        self._current.message = None
        reason = nack_reason(message) or "failed"
        self.emit(
            broker,
            EventKind.DEAD_LETTERED,
            message.message,
            retries=message.options.get("retries", 0),
            reason=bounded_traceback(str(reason)),
        )

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self.flush(2000)


def _visible_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "traceback"}


def _stores_results(broker: Broker, message: MessageProxy) -> bool:
    actor = broker.actors.get(message.actor_name)
    actor_options = actor.options if actor is not None else None
    return bool(lookup_option("store_results", message.options, actor_options, unset="none"))


@atexit.register
def _flush_at_exit() -> None:
    for publisher in list(_publishers):
        publisher.flush(1000)


def _reset_after_fork() -> None:
    # A lock held by another thread at fork time would stay locked forever in the child.
    for publisher in list(_publishers):
        publisher._lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)
