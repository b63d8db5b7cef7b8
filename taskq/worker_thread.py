"""The worker threads of :class:`~taskq.worker.Worker`: each runs one message at a time through
the middleware and its actor, then acks or dead-letters it."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from .errors import ActorNotFound, RateLimitExceeded
from .middleware.middleware import SkipMessage
from .middleware.threading import interruptible

if TYPE_CHECKING:
    from .broker import MessageProxy
    from .worker import Worker

logger = logging.getLogger("taskq.worker")


class WorkerThread(threading.Thread):
    """Takes messages off the work queue and runs their actors through the middleware."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(name="taskq-worker", daemon=True)
        self.worker = worker
        self.broker = worker.broker
        self.paused = threading.Event()
        self.running = True
        self.idle = True
        self.current: MessageProxy | None = None

    def run(self) -> None:
        self.broker.emit_after("worker_thread_boot", self)
        work_queue = self.worker.work_queue
        while self.running:
            if self.paused.is_set():
                time.sleep(0.05)
                continue
            # No timeout: an idle thread sleeps until a message arrives or stop() wakes it.
            item = work_queue.get()
            if item is None:
                continue
            if self.paused.is_set():  # paused while blocked in get(): hand the message back
                work_queue.put(item)
                work_queue.task_done()
                continue
            message = item[2]
            self.idle = False
            try:
                self.process_message(message)
            finally:
                self.idle = True
                work_queue.task_done()
        self.broker.emit_before("worker_thread_shutdown", self)

    def process_message(self, message: MessageProxy) -> None:
        """Run one message through the middleware and its actor, then ack or nack it."""
        consumer, state = message._fetch_state
        message._fetch_state = state
        self.current = message
        broker = self.broker
        try:
            try:
                actor = broker.get_actor(message.actor_name)
            except ActorNotFound:
                logger.error(
                    "Dead-lettering message %s: no actor named %r is declared here.",
                    message.message_id,
                    message.actor_name,
                )
                message.fail(f"unknown actor {message.actor_name!r}")
                return
            try:
                broker.emit_before("process_message", message)
                started = time.perf_counter()
                with interruptible():
                    result = actor(*message.args, **message.kwargs)
                consumer.window.record((time.perf_counter() - started) * 1000)
                message._result = result
                broker.emit_after("process_message", message, result=result)
            except SkipMessage:
                logger.info("Message %s was skipped.", message.message_id)
                broker.emit_after("skip_message", message)
            except BaseException as e:
                if isinstance(e, RateLimitExceeded):
                    logger.debug("Rate limit exceeded in message %s: %s", message.message_id, e)
                else:
                    logger.error(
                        "Failed to process message %s with unhandled exception.",
                        message,
                        exc_info=True,
                    )
                message.stuff_exception(e)
                broker.emit_after("process_message", message, exception=e)
        finally:
            self.current = None
            try:
                consumer.ack_or_nack(message)
            except Exception:
                logger.exception(
                    "Could not ack message %s; it will be redelivered.", message.message_id
                )
            with self.worker._lock:
                self.worker.processed += 1

    def stop(self) -> None:
        """Finish the current message, then exit."""
        self.running = False
        self.worker.work_queue.wake(len(self.worker.workers))
