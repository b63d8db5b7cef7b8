"""The in-process worker: consumer threads fetch, worker threads run actors, one process."""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .common import current_millis, q_name
from .errors import ActorNotFound, ConnectionError
from .prefetch import PrefetchWindow
from .worker_queue import WorkQueue
from .worker_thread import WorkerThread

if TYPE_CHECKING:
    from .broker import Broker, Consumer, MessageProxy

logger = logging.getLogger("taskq.worker")

#: How many delayed messages a worker holds in memory per delay queue.
DELAY_QUEUE_PREFETCH = 1000


class Worker:
    """Consume ``queues`` (default: every declared queue) of ``broker`` and run their actors.

    ``worker_timeout`` (ms) bounds how long threads block before checking for shutdown;
    ``prefetch`` pins how many unacked messages each queue's consumer holds; by default the
    window adapts to how long messages take (see :mod:`taskq.prefetch`).
    """

    def __init__(
        self,
        broker: Broker,
        *,
        queues: Iterable[str] | None = None,
        worker_timeout: int = 1000,
        worker_threads: int = 8,
        prefetch: int | None = None,
    ) -> None:
        self.broker = broker
        self.queues = set(queues) if queues else None
        self.worker_timeout = worker_timeout
        self.worker_threads = worker_threads
        self.fixed_prefetch = prefetch
        #: The most unacked messages one queue's consumer may hold.
        self.prefetch = prefetch or PrefetchWindow(worker_threads).maximum
        self.work_queue = WorkQueue()
        self.consumers: dict[str, ConsumerThread] = {}
        self.workers: list[WorkerThread] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self.processed = 0
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start consumer threads for every selected queue and the worker threads."""
        self.broker.emit_before("worker_boot", self)
        for queue_name in sorted(self.broker.get_declared_queues()):
            self._add_consumer(queue_name)
        for queue_name in sorted(self.broker.get_declared_delay_queues()):
            self._add_consumer(queue_name, delay=True)
        for _ in range(self.worker_threads):
            thread = WorkerThread(self)
            thread.start()
            self.workers.append(thread)
        self.started = True
        self.broker.emit_after("worker_boot", self)

    def pause(self) -> None:
        """Stop fetching and running new messages until :meth:`resume`."""
        for thread in [*self.consumers.values(), *self.workers]:
            thread.paused.set()

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        for thread in [*self.consumers.values(), *self.workers]:
            thread.paused.clear()

    def stop(self, timeout: int = 600_000) -> None:
        """Stop gracefully: stop fetching, requeue what is prefetched but unstarted, wait up to
        ``timeout`` ms for running messages, then close the consumers."""
        for thread in self.workers:
            thread.stop()
        self.broker.emit_before("worker_shutdown", self)
        for thread in self.consumers.values():
            thread.stop_fetching()
        for thread in self.consumers.values():
            thread.join(self.worker_timeout / 1000 * 2 + 1)
        self._requeue_work_queue()
        deadline = time.monotonic() + timeout / 1000
        self._join_workers(deadline)
        still_running = [t for t in self.workers if t.is_alive()]
        if still_running:
            logger.warning(
                "%d worker thread(s) still running after the timeout.", len(still_running)
            )
        self._requeue_work_queue()
        for thread in self.consumers.values():
            thread.close()
        self.broker.emit_after("worker_shutdown", self)

    def join(self) -> None:
        """Wait until the work queue is drained and no delayed message is held in memory."""
        while True:
            self.work_queue.join()
            if any(thread.holding for thread in self.consumers.values()):
                time.sleep(0.005)
                continue
            if self.work_queue.unfinished_tasks:
                continue
            return

    # -- internals ------------------------------------------------------------------------
    def _join_workers(self, deadline: float) -> None:
        # Idle worker threads block without a timeout: wake them until they have all exited.
        while True:
            alive = [thread for thread in self.workers if thread.is_alive()]
            remaining = deadline - time.monotonic()
            if not alive or remaining <= 0:
                return
            self.work_queue.wake(len(alive))
            alive[0].join(min(0.1, remaining))

    def _add_consumer(self, queue_name: str, *, delay: bool = False) -> None:
        if queue_name in self.consumers:
            return
        if self.queues is not None and q_name(queue_name) not in self.queues:
            return
        fixed = DELAY_QUEUE_PREFETCH if delay else self.fixed_prefetch
        window = PrefetchWindow(self.worker_threads, fixed=fixed)
        thread = ConsumerThread(self, queue_name, window=window, delay=delay)
        thread.start()
        self.consumers[queue_name] = thread

    def submit(self, consumer: ConsumerThread, message: MessageProxy) -> bool:
        """Hand a fetched message to the worker threads, lowest priority number first; True
        when no other message was waiting (so a worker thread is likely idle)."""
        try:
            priority = self.broker.get_actor(message.actor_name).priority
        except ActorNotFound:
            priority = 0
        message._fetch_state = (consumer, message._fetch_state)
        return self.work_queue.put((priority, next(self._sequence), message))

    def _requeue_work_queue(self) -> None:
        by_consumer: dict[ConsumerThread, list[MessageProxy]] = {}
        while True:
            try:
                _, _, message = self.work_queue.get_nowait()
            except queue.Empty:
                break
            consumer, state = message._fetch_state
            message._fetch_state = state
            by_consumer.setdefault(consumer, []).append(message)
            self.work_queue.task_done()
        for consumer, messages in by_consumer.items():
            logger.info(
                "Requeueing %d unstarted message(s) of %s.", len(messages), consumer.queue_name
            )
            consumer.requeue(messages)


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
        self.paused = threading.Event()
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
                self._wait(1.0)
            except Exception:
                logger.exception("Consumer for %s crashed; restarting it.", self.queue_name)
                self._close_consumer()
                self._wait(1.0)
        self.broker.emit_before("consumer_thread_shutdown", self)

    def _consume_until_stopped(self) -> None:
        assert self.consumer is not None
        for message in self.consumer:
            self.last_fetch = time.monotonic()
            if message is not None:
                if self.is_delay_queue:
                    self._hold(message)
                elif self.worker.submit(self, message) and not self.consumer.holds_more():
                    # An idle worker thread was just woken and this thread turns to the broker
                    # next: hand over the GIL now rather than when the broker call blocks.
                    time.sleep(0)
            if self.is_delay_queue:
                self._promote_due()
            else:
                resized = self.window.resize()
                if resized is not None:
                    logger.debug("Prefetch of %s is now %d.", self.queue_name, resized)
                    self.consumer.set_prefetch(resized)
            if not self._fetching:
                return
            while self.paused.is_set() and self._fetching:
                self._wait(0.1)

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
        while self._fetching and time.monotonic() < deadline:
            time.sleep(0.05)
