"""The in-process worker: consumer threads fetch, worker threads run actors, one process.

:class:`Worker` lives here, beside the module settings Dramatiq programs patch; its parts each
have a module: :mod:`.consumer` (consumer threads), :mod:`.thread` (worker threads),
:mod:`.work_queue` (the priority queue between them) and :mod:`.prefetch` (the adaptive
prefetch window)."""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..common import q_name
from ..errors import ActorNotFound
from ..middleware.middleware import Middleware
from ..threading import is_gevent_active
from .consumer import ConsumerThread
from .governor import GroupCompletions, ThreadGovernor
from .prefetch import PrefetchWindow
from .thread import WorkerThread
from .work_queue import WorkItem, WorkQueue

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.worker")

__all__ = ["ConsumerThread", "Worker", "WorkerThread"]

#: Unacked messages each queue's consumer may hold (``taskq_queue_prefetch``); 0 lets the
#: window adapt to how long messages take (see :mod:`taskq.worker.prefetch`). Read by each new Worker.
QUEUE_PREFETCH = int(os.getenv("taskq_queue_prefetch", "0"))  # noqa: SIM112
#: How many delayed messages a worker holds in memory per delay queue
#: (``taskq_delay_queue_prefetch``).
DELAY_QUEUE_PREFETCH = int(os.getenv("taskq_delay_queue_prefetch", "0")) or 1000  # noqa: SIM112
#: Milliseconds threads block before checking for shutdown (``taskq_worker_timeout``): the
#: default ``worker_timeout``.
WORKER_TIMEOUT = int(os.getenv("taskq_worker_timeout", "1000"))  # noqa: SIM112
#: Milliseconds a consumer waits before reconnecting after an error (``taskq_restart_delay``).
CONSUMER_RESTART_DELAY = int(os.getenv("taskq_restart_delay", "1000"))  # noqa: SIM112
CONSUMER_RESTART_DELAY_SECS = CONSUMER_RESTART_DELAY / 1000
#: Whether a backlog of short messages may run on fewer threads when that is measurably
#: faster (``taskq_adaptive_threads``, 1 by default; see :mod:`taskq.worker.governor`).
ADAPTIVE_THREADS = os.getenv("taskq_adaptive_threads", "1") != "0"  # noqa: SIM112


class Worker:
    """Consume ``queues`` (default: every declared queue) of ``broker`` and run their actors.

    Queues declared after :meth:`start` (an actor defined later, a module imported later) are
    consumed from the moment they are declared, delay queues included, as long as ``queues``
    selects them. ``worker_timeout`` (ms) bounds how long threads block before checking for
    shutdown; ``prefetch`` (or :data:`QUEUE_PREFETCH`, or setting :attr:`queue_prefetch`
    before queues are consumed) pins how many unacked messages each queue's consumer holds; by
    default the window adapts to how long messages take (see :mod:`taskq.worker.prefetch`).
    ``adaptive_threads`` (default :data:`ADAPTIVE_THREADS`; never under gevent) lets a backlog
    of short messages run on a few of the threads when that is measurably faster (see
    :mod:`taskq.worker.governor`); ``group`` and ``group_slot``, when this worker is one
    process of a group, are where the group's completions are counted.
    """

    def __init__(
        self,
        broker: Broker,
        *,
        queues: Iterable[str] | None = None,
        worker_timeout: int = WORKER_TIMEOUT,
        worker_threads: int = 8,
        prefetch: int | None = None,
        adaptive_threads: bool | None = None,
        group: GroupCompletions | None = None,
        group_slot: int = 0,
    ) -> None:
        self.broker = broker
        self.queues = set(queues) if queues else None
        self.worker_timeout = worker_timeout
        self.worker_threads = worker_threads
        prefetch = prefetch or QUEUE_PREFETCH or None
        self.fixed_prefetch = prefetch
        #: The most unacked messages one queue's consumer may hold.
        self.prefetch = prefetch or PrefetchWindow(worker_threads).maximum
        #: How many delayed messages each delay queue's consumer may hold.
        self.delay_prefetch = DELAY_QUEUE_PREFETCH
        self.work_queue = WorkQueue()
        self.consumers: dict[str, ConsumerThread] = {}
        self.workers: list[WorkerThread] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._consumers_lock = threading.RLock()
        self._following = True
        self._declarations = _WorkerMiddleware(self)
        self.processed = 0
        if adaptive_threads is None:
            adaptive_threads = ADAPTIVE_THREADS
        self.governor = ThreadGovernor(
            worker_threads,
            completed=lambda: self.processed,
            waiting=lambda: not self.work_queue.is_empty(),
            enabled=adaptive_threads and not is_gevent_active(),
            group=group,
            slot=group_slot,
        )
        self.started = False
        #: Actors already warned about for returning a value no Results middleware keeps.
        self._discarded_results_warned: set[str] = set()

    # -- Dramatiq's names -----------------------------------------------------------------
    @property
    def queue_prefetch(self) -> int:
        """The prefetch of queues consumed from now on (the adaptive window's maximum unless
        pinned); setting it pins the prefetch of consumers started afterwards."""
        return self.fixed_prefetch or self.prefetch

    @queue_prefetch.setter
    def queue_prefetch(self, value: int) -> None:
        self.fixed_prefetch = self.prefetch = value

    @property
    def consumer_restart_delay(self) -> float:
        """Seconds a consumer thread waits before reconnecting after an error: read from
        :data:`CONSUMER_RESTART_DELAY_SECS` at each restart, so patching it takes effect."""
        return CONSUMER_RESTART_DELAY_SECS

    @property
    def consumer_whitelist(self) -> set[str] | None:
        """The queues this worker consumes (None: every declared queue)."""
        return self.queues

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start consumer threads for every selected queue and the worker threads."""
        self.broker.emit_before("worker_boot", self)
        for queue_name in sorted(self.broker.get_declared_queues()):
            self._add_consumer(queue_name)
        for queue_name in sorted(self.broker.get_declared_delay_queues()):
            self._add_consumer(queue_name, delay=True)
        # From now on every queue the broker declares gets a consumer (adding the middleware
        # replays the queues declared so far, so none declared meanwhile is missed).
        self.broker.add_middleware(self._declarations)
        for _ in range(self.worker_threads):
            thread = WorkerThread(self)
            thread.start()
            self.workers.append(thread)
        self.started = True
        self.broker.emit_after("worker_boot", self)

    def pause(self) -> None:
        """Stop fetching and running new messages until :meth:`resume`.

        Returns once every consumer thread has stopped fetching (each waits at most
        ``worker_timeout`` for the broker); worker threads finish the message they are running
        and then take no other (their ``paused_event`` tells when they have). Consumers of
        queues declared while paused start unpaused, as in Dramatiq.
        """
        with self._consumers_lock:
            consumers = list(self.consumers.values())
        for consumer in consumers:
            consumer.pause()
        for worker_thread in self.workers:
            worker_thread.pause()
        current = threading.current_thread()
        for consumer in consumers:
            if consumer is not current and consumer.is_alive():
                consumer.paused_event.wait(self.worker_timeout / 1000 * 2 + 1)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        with self._consumers_lock:
            consumers = list(self.consumers.values())
        for consumer in consumers:
            consumer.resume()
        for worker_thread in self.workers:
            worker_thread.resume()

    def stop(self, timeout: int = 600_000) -> None:
        """Stop gracefully: stop fetching, requeue what is prefetched but unstarted, wait up to
        ``timeout`` ms for running messages, then close the consumers."""
        self._stop_following_declarations()
        for thread in self.workers:
            thread.stop()
        self.broker.emit_before("worker_shutdown", self)
        for consumer in self.consumers.values():
            consumer.stop_fetching()
        for consumer in self.consumers.values():
            consumer.join(self.worker_timeout / 1000 * 2 + 1)
        self._requeue_work_queue()
        deadline = time.monotonic() + timeout / 1000
        self._join_workers(deadline)
        still_running = [t for t in self.workers if t.is_alive()]
        if still_running:
            logger.warning(
                "%d worker thread(s) still running after the timeout.", len(still_running)
            )
        self._requeue_work_queue()
        for consumer in self.consumers.values():
            consumer.close()
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

    def _stop_following_declarations(self) -> None:
        with self._consumers_lock:
            self._following = False
        # A new list rather than remove(): a thread reading the old one is not disturbed.
        self.broker.middleware = [m for m in self.broker.middleware if m is not self._declarations]

    def _add_consumer(self, queue_name: str, *, delay: bool = False) -> None:
        if self.queues is not None and q_name(queue_name) not in self.queues:
            return
        with self._consumers_lock:
            if queue_name in self.consumers or not self._following:
                return
            fixed = self.delay_prefetch if delay else self.fixed_prefetch
            window = PrefetchWindow(self.worker_threads, fixed=fixed)
            thread = ConsumerThread(self, queue_name, window=window, delay=delay)
            # Registered before it starts: stop() and join() see every consumer they must.
            self.consumers = {**self.consumers, queue_name: thread}
            thread.start()

    def submit(self, consumer: ConsumerThread, message: MessageProxy, *, wake: bool = True) -> bool:
        """Hand a fetched message to the worker threads, lowest priority number first; True
        when no other message was waiting (so a worker thread is likely idle). With ``wake``
        False, idle threads sleep on until the next submit that wakes them (or
        ``work_queue.wake_sleepers()``)."""
        try:
            priority = self.broker.get_actor(message.actor_name).priority
        except ActorNotFound:
            priority = 0
        item = (priority, next(self._sequence), WorkItem(message, consumer))
        return self.work_queue.put(item, wake=wake)

    def _requeue_work_queue(self) -> None:
        by_consumer: dict[ConsumerThread, list[MessageProxy]] = {}
        while True:
            try:
                _, _, item = self.work_queue.get_nowait()
            except queue.Empty:
                break
            by_consumer.setdefault(item.consumer, []).append(item.message)
            self.work_queue.task_done()
        for consumer, messages in by_consumer.items():
            logger.info(
                "Requeueing %d unstarted message(s) of %s.", len(messages), consumer.queue_name
            )
            consumer.requeue(messages)


class _WorkerMiddleware(Middleware):
    """Gives the worker a consumer for each queue and delay queue the broker declares after
    the worker started; removed from the broker when the worker stops."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def after_declare_queue(self, broker: Broker, queue_name: str) -> None:
        self.worker._add_consumer(queue_name)

    def after_declare_delay_queue(self, broker: Broker, queue_name: str) -> None:
        self.worker._add_consumer(queue_name, delay=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.worker!r}>"
