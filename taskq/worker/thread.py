"""The worker threads of :class:`~taskq.worker.Worker`: each runs one message at a time through
the middleware and its actor, then acks or dead-letters it."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import ActorNotFound, RateLimitExceeded, Retry
from ..middleware.middleware import SkipMessage
from ..options import lookup_option
from ..threading import interruptible, worker_thread_guard

if TYPE_CHECKING:
    from ..broker import MessageProxy
    from . import Worker
    from .consumer import ConsumerThread
    from .work_queue import WorkItem

logger = logging.getLogger("taskq.worker")


class WorkerThread(threading.Thread):
    """Takes messages off the work queue and runs their actors through the middleware."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(name="taskq-worker", daemon=True)
        self.worker = worker
        self.broker = worker.broker
        #: Set while a pause is requested (see :meth:`pause`).
        self.paused = threading.Event()
        #: Set once the thread has actually paused (it finished its message, if any).
        self.paused_event = threading.Event()
        self.running = True
        self.idle = True
        self.current: MessageProxy | None = None
        #: Position among the worker's threads; the governor lets the lowest ranks run.
        self.rank = len(worker.workers)

    def run(self) -> None:
        # Interrupts (time limits, shutdown notifications, aborts) land in this thread only
        # while it runs actor code.
        with worker_thread_guard():
            self._run()

    def _run(self) -> None:
        self.broker.emit_after("worker_thread_boot", self)
        work_queue = self.worker.work_queue
        governor = self.worker.governor
        while self.running:
            if self.paused.is_set():
                self.paused_event.set()
                time.sleep(0.05)
                continue
            self.paused_event.clear()
            if self.rank >= governor.limit:
                governor.hold(self.rank, self._may_hold)
                continue
            # No timeout: an idle thread sleeps until a message arrives or stop() wakes it.
            item = work_queue.get()
            if item is None:
                continue
            if self.paused.is_set():  # paused while blocked in get(): hand the message back
                work_queue.put(item)
                work_queue.task_done()
                continue
            fetched: WorkItem = item[2]
            self.idle = False
            try:
                self.process_message(fetched.message, fetched.consumer)
            finally:
                self.idle = True
                work_queue.task_done()
                governor.tick()
        self.broker.emit_before("worker_thread_shutdown", self)

    def _may_hold(self) -> bool:
        return self.running and not self.paused.is_set()

    def process_message(self, message: MessageProxy, consumer: ConsumerThread) -> None:
        """Run one message through the middleware and its actor, then ack or nack it through
        ``consumer``, the consumer thread that fetched it."""
        self.current = message
        broker = self.broker
        try:
            try:
                actor = broker.get_actor(message.actor_name)
            except ActorNotFound as e:
                logger.error(
                    "Dead-lettering message %s: no actor named %r is declared here.",
                    message.message_id,
                    message.actor_name,
                )
                message.fail(f"unknown actor {message.actor_name!r}")
                message.stuff_exception(e)
                return
            plan = broker.message_hooks(actor, message)
            try:
                if plan is None:
                    broker.emit_before("process_message", message)
                elif plan.before:
                    broker.call_before("process_message", plan.before, message)
                started = time.perf_counter()
                with interruptible():
                    result = actor(*message.args, **message.kwargs)
                consumer.window.record((time.perf_counter() - started) * 1000)
                if result is not None and "pipe_target" not in message.options:
                    self._check_result_kept(actor)
                # The actor may have set an option that wakes a quiet middleware.
                if plan is None or not plan.woken_by.isdisjoint(message.options):
                    broker.emit_after("process_message", message, result=result)
                elif plan.after:
                    broker.call_after("process_message", plan.after, message, result=result)
            except SkipMessage as e:
                if message.failed:  # dead-lettered: keep why, for StubBroker.join and results
                    message.stuff_exception(e)
                logger.info("Message %s was skipped.", message.message_id)
                broker.emit_after("skip_message", message)
            except BaseException as e:
                self._log_failure(actor, message, e)
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

    def _check_result_kept(self, actor: Any) -> None:
        """Warn (once per actor and worker) that a returned value is dropped because the
        broker has no Results middleware, as Dramatiq does."""
        warned = self.worker._discarded_results_warned
        if actor.actor_name in warned:
            return

        if self.broker.get_results_middleware() is not None:
            return
        warned.add(actor.actor_name)
        logger.warning(
            "Actor '%s' returned a value that is not None, and you haven't added the Results "
            "middleware to the broker, so the value has been discarded. Consider adding the "
            "Results middleware to your broker or piping the result into another actor.",
            actor.actor_name,
        )

    @staticmethod
    def _log_failure(actor: Any, message: MessageProxy, e: BaseException) -> None:
        """Log an actor's exception as Dramatiq does: a ``Retry`` not at all, a rate limit at
        debug level, an exception listed in ``throws`` at info level, anything else as an
        error with its traceback."""
        if isinstance(e, Retry):
            return
        if isinstance(e, RateLimitExceeded):
            logger.debug("Rate limit exceeded in message %s: %s.", message, e)
            return
        throws = lookup_option("throws", message.options, actor.options, unset="falsy")
        if throws:
            try:
                expected = isinstance(e, throws)
            except TypeError:  # not a class or tuple of classes (say, names sent as JSON)
                expected = False
            if expected:
                logger.info(
                    "Failed to process message %s with expected exception %s.",
                    message,
                    type(e).__name__,
                )
                return
        logger.error(
            "Failed to process message %s with unhandled exception.", message, exc_info=True
        )

    def pause(self) -> None:
        """Take no new message until :meth:`resume` (``paused_event`` is set once this thread
        has finished the message it was running, if any)."""
        self.paused_event.clear()
        self.paused.set()
        # An idle thread waits in the work queue without a timeout, and a wake-up goes to any
        # waiting thread: wake until this one has noticed (the others go back to waiting).
        deadline = time.monotonic() + 1.0
        self.worker.governor.wake()
        while (
            self.idle
            and self.is_alive()
            and self is not threading.current_thread()
            and not self.paused_event.is_set()
            and time.monotonic() < deadline
        ):
            self.worker.work_queue.wake(1)
            self.paused_event.wait(0.005)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        self.paused.clear()

    def stop(self) -> None:
        """Finish the current message, then exit."""
        self.running = False
        self.worker.governor.wake()
        self.worker.work_queue.wake(len(self.worker.workers))
