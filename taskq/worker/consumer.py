"""The consumer threads of :class:`~taskq.worker.Worker`: each fetches one queue's messages
for the worker threads, or holds a delay queue's messages until their eta."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import TYPE_CHECKING

from ..common import current_millis
from ..errors import ConnectionError
from ..eta import judge_eta
from .prefetch import PrefetchWindow

if TYPE_CHECKING:
    from ..broker import Consumer, MessageProxy
    from . import Worker

logger = logging.getLogger("taskq.worker")


class ConsumerThread(threading.Thread):
    """Fetches messages from one queue; holds delayed messages until their eta."""

    def __init__(
        self, worker: Worker, queue_name: str, *, window: PrefetchWindow, delay: bool
    ) -> None:
        super().__init__(name=f"taskq-consumer-{queue_name}", daemon=True)
        self.worker = worker
        self.broker = worker.broker
        self.queue_name = queue_name
        self.window = window
        self.is_delay_queue = delay
        #: Set while a pause is requested (see :meth:`pause`).
        self.paused = threading.Event()
        #: Set once the thread has actually stopped fetching for a pause.
        self.paused_event = threading.Event()
        self._fetching = True
        self.consumer: Consumer | None = None
        #: The consumer being replaced after a connection loss; acks of running messages go
        #: through it meanwhile (brokers such as Redis retry them once reconnected).
        self._last_consumer: Consumer | None = None
        self._held: list[tuple[int, int, float, MessageProxy]] = []
        self._held_lock = threading.Lock()
        self._ready = threading.Event()
        #: When (``time.monotonic()``) the broker last answered a fetch, with a message or
        #: empty; the worker process's heartbeat to its master relies on it.
        self.last_fetch = time.monotonic()

    def run(self) -> None:
        self.broker.emit_after("consumer_thread_boot", self)
        error_logged = False
        while self._fetching:
            try:
                if self.consumer is None:
                    self.consumer = self.broker.consume(
                        self.queue_name,
                        prefetch=self.window.size,
                        timeout=self.worker.worker_timeout,
                    )
                    self._ready.set()
                    if error_logged:
                        logger.info("Consumer for %s reconnected.", self.queue_name)
                    error_logged = False
                self._consume_until_stopped()
            except ConnectionError as e:
                if not error_logged:
                    logger.error(
                        "Consumer for %s lost its connection (%s); retrying.", self.queue_name, e
                    )
                    error_logged = True
                self._close_consumer()
                self._wait(self.worker.consumer_restart_delay)
            except Exception:
                logger.exception("Consumer for %s crashed; restarting it.", self.queue_name)
                self._close_consumer()
                self._wait(self.worker.consumer_restart_delay)
        self.broker.emit_before("consumer_thread_shutdown", self)

    def _consume_until_stopped(self) -> None:
        assert self.consumer is not None
        work_queue = self.worker.work_queue
        try:
            for message in self.consumer:
                self.last_fetch = time.monotonic()
                if message is not None and "eta" in message.options:
                    self._check_eta(message)
                    if self._settled_by_eta(message):
                        message = None
                if message is not None:
                    if self.is_delay_queue:
                        self._hold(message)
                    else:  # idle worker threads are woken once the consumer holds no more
                        self.worker.submit(self, message, wake=False)
                if self.is_delay_queue:
                    self._promote_due()
                else:
                    resized = self.window.resize()
                    if resized is not None:
                        logger.debug("Prefetch of %s is now %d.", self.queue_name, resized)
                        self.consumer.set_prefetch(resized)
                    if not self.consumer.holds_more() and work_queue.wake_sleepers():
                        # This thread turns to the broker next: let a woken worker thread
                        # have the GIL now rather than when the broker call blocks.
                        time.sleep(0)
                if not self._fetching:
                    return
                if self.paused.is_set():
                    self._sit_out_pause()
        finally:
            work_queue.wake_sleepers()  # nothing fetched is left behind by a stop or an error
        if self._fetching:
            # The consumer ended by itself: RabbitMQ cancels the consumers of a queue that is
            # deleted. A new consumer declares the queue again.
            logger.warning("The consumer of %s was cancelled; restarting it.", self.queue_name)
            self._close_consumer()
            self._wait(self.worker.consumer_restart_delay)

    def _sit_out_pause(self) -> None:
        self.paused_event.set()
        while self.paused.is_set() and self._fetching:
            self._wait(0.05)
        self.paused_event.clear()

    def pause(self) -> None:
        """Stop fetching until :meth:`resume` (``paused_event`` is set once it has)."""
        self.paused_event.clear()
        self.paused.set()

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        self.paused.clear()

    def stop(self) -> None:
        """Stop fetching; the thread then exits (join it), its consumer stays open for acks of
        running messages until :meth:`close`."""
        self.stop_fetching()

    @staticmethod
    def _check_eta(message: MessageProxy) -> None:
        # A message written by hand or by another program may carry a bad eta: a null one is
        # dropped, anything else that is not a number means "now" (as in Dramatiq).
        eta = message.options["eta"]
        if eta is None:
            del message.options["eta"]
        elif isinstance(eta, bool) or not isinstance(eta, int | float):
            logger.warning(
                "Invalid eta value for message %r: %r. Setting eta to current_millis().",
                message.message_id,
                eta,
            )
            message.options["eta"] = current_millis()

    def _settled_by_eta(self, message: MessageProxy) -> bool:
        """Apply :func:`taskq.eta.judge_eta`: dead-letter a message whose eta is absurd, move
        a ready queue's message whose eta lies ahead to the delay queue. True if it did."""
        verdict = judge_eta(message.options.get("eta"), current_millis())
        if verdict.action == "dead":
            logger.warning("Dead-lettering message %s: %s.", message.message_id, verdict.reason)
            message.fail(verdict.reason)
            self.ack_or_nack(message)
            return True
        if verdict.action == "hold" and not self.is_delay_queue:
            assert self.consumer is not None
            target = message.message.copy()
            target.options.pop("eta", None)
            self.broker.enqueue(target, delay=verdict.delay)  # first enqueue, then ack: no loss
            self.consumer.ack(message)
            return True
        return False

    def _hold(self, message: MessageProxy) -> None:
        self.broker.emit_before("delay_message", message)
        eta = int(message.options.get("eta", 0))
        with self._held_lock:
            heapq.heappush(self._held, (eta, id(message), time.monotonic(), message))

    def _promote_due(self) -> None:
        now = current_millis()
        max_hold = self.broker.max_delay_hold
        with self._held_lock:
            due = []
            while self._held and self._held[0][0] <= now:
                due.append(heapq.heappop(self._held)[3])
            stale = []
            if max_hold is not None:
                cutoff = time.monotonic() - max_hold / 1000
                keep = [h for h in self._held if h[2] > cutoff]
                stale = [h[3] for h in self._held if h[2] <= cutoff]
                if stale:
                    self._held = keep
                    heapq.heapify(self._held)
        assert self.consumer is not None
        for message in due:
            self.broker.promote(self.consumer, message)
        for message in stale:
            self.broker.redelay(self.consumer, message)

    @property
    def holding(self) -> int:
        """How many delayed messages this thread holds until their eta."""
        return len(self._held)

    def stop_fetching(self) -> None:
        """Stop fetching new messages; the consumer stays open for acks of running ones."""
        self._fetching = False

    def requeue(self, messages: list[MessageProxy]) -> None:
        """Return ``messages`` to the broker."""
        if self.consumer is not None and messages:
            self.consumer.requeue(messages)

    def ack_or_nack(self, message: MessageProxy) -> None:
        """Ack a processed message, or dead-letter it if it failed."""
        consumer = self.consumer or self._last_consumer
        assert consumer is not None
        if message.failed:
            self.broker.emit_before("nack", message)
            consumer.nack(message)
            self.broker.emit_after("nack", message)
        else:
            self.broker.emit_before("ack", message)
            consumer.ack(message)
            self.broker.emit_after("ack", message)

    def close(self) -> None:
        """Requeue held delayed messages and close the consumer."""
        with self._held_lock:
            held = [h[3] for h in self._held]
            self._held = []
        self.requeue(held)
        self._close_consumer()

    def _close_consumer(self) -> None:
        if self.consumer is not None:
            self._last_consumer = self.consumer
            try:
                self.consumer.close()
            except Exception:
                logger.debug(
                    "Error while closing the consumer of %s.", self.queue_name, exc_info=True
                )
            self.consumer = None

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._fetching:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(0.05, remaining))
