"""Prometheus: count, time and gauge every message, per ``queue_name`` and ``actor_name``.

Under ``taskq worker`` the master sets ``PROMETHEUS_MULTIPROC_DIR`` before forking (see
:mod:`taskq.metrics.exposition`), so every worker process writes its metrics there and the master's
exposition server serves the sum; worker processes write their updates in batches, at most
half a second late (:mod:`taskq.metrics.buffer`). Without that directory the
metrics live in this process's own :attr:`Prometheus.registry`. Metrics go to a private ``CollectorRegistry``, never the
global one, so an application's own metrics never collide with taskq's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, NamedTuple

from ..common import current_millis, q_name
from ..middleware.middleware import Middleware
from .buffer import BufferedMetrics, DirectMetrics
from .exposition import StatusReporter, series_lock
from .families import FAMILIES, enable_multiprocess_values

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy
    from ..message import Message
    from ..worker import Worker

logger = logging.getLogger("taskq.middleware.prometheus")


class _Running:
    """The message a worker thread is processing, as the hooks that follow its start see it."""

    __slots__ = ("message_id", "start", "children", "retried", "running")

    def __init__(self, message_id: str, start: int, children: _Children) -> None:
        self.message_id = message_id
        self.start = start
        self.children = children
        self.retried = False
        self.running = True


class _Children(NamedTuple):
    """The labelled children of every metric for one (queue, actor) pair."""

    total: Any
    errored: Any
    retried: Any
    rejected: Any
    inprogress: Any
    delayed_inprogress: Any
    durations: Any


def _forget_metrics_after_fork(middleware: Prometheus) -> None:
    """Have a forked child drop ``middleware``'s metrics (without keeping it alive)."""
    reference = weakref.ref(middleware)

    def forget() -> None:
        alive = reference()
        if alive is not None:
            alive._forget_metrics()

    os.register_at_fork(after_in_child=forget)


class Prometheus(Middleware):
    """Export ``taskq_*`` message metrics to Prometheus (on by default when installed).

    Counters: ``taskq_messages_total``, ``taskq_message_errors_total``,
    ``taskq_message_retries_total``, ``taskq_message_rejects_total``; gauges
    ``taskq_messages_inprogress`` and ``taskq_delayed_messages_inprogress`` (summed over live
    processes only, so a dead worker's in-progress count disappears with it); histogram
    ``taskq_message_duration_milliseconds``.
    """

    def __init__(self) -> None:
        if find_spec("prometheus_client") is None:
            raise ImportError(
                "The Prometheus middleware needs prometheus-client: pip install 'taskq[prometheus]'"
            )
        self.registry: Any = None
        self._setup_lock = threading.Lock()
        self._children: dict[tuple[str, str], _Children] = {}
        _forget_metrics_after_fork(self)
        self._current = threading.local()  # the message each worker thread is processing
        self._delayed: dict[str, tuple[str, str]] = {}
        self._status_reporter: Any = None
        self._updates: DirectMetrics | BufferedMetrics = DirectMetrics()

    @property
    def forks(self) -> list[Any]:
        """None: the exposition server runs as a thread of the ``taskq worker`` master."""
        return []

    # -- metric set-up --------------------------------------------------------------------
    def _metrics(self) -> Prometheus:
        """Create the metrics once per process (after a fork the child gets its own)."""
        if self.registry is None:
            with self._setup_lock:
                if self.registry is None:
                    self._create_metrics()
        return self

    def _forget_metrics(self) -> None:
        """In a forked child: drop the parent's metrics; the first hook creates new ones."""
        self._setup_lock = threading.Lock()
        self._children = {}
        self._updates = DirectMetrics()
        self.registry = None

    def _create_metrics(self) -> None:
        enable_multiprocess_values()
        import prometheus_client as prom

        registry = prom.CollectorRegistry(auto_describe=True)
        made = {family.name: family.create(registry) for family in FAMILIES}
        self.total_messages = made["taskq_messages_total"]
        self.total_errored_messages = made["taskq_message_errors_total"]
        self.total_retried_messages = made["taskq_message_retries_total"]
        self.total_rejected_messages = made["taskq_message_rejects_total"]
        self.inprogress_messages = made["taskq_messages_inprogress"]
        self.inprogress_delayed_messages = made["taskq_delayed_messages_inprogress"]
        self.message_durations = made["taskq_message_duration_milliseconds"]
        self._children = {}
        # Worker processes write to shared files that a scrape reads later: batch the writes.
        multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._updates = BufferedMetrics() if multiprocess else DirectMetrics()
        self.registry = registry

    def _for(self, labels: tuple[str, str]) -> _Children:
        """The metric children of one (queue, actor) pair, created once per process."""
        children = self._children.get(labels)
        if children is None:
            self._metrics()
            metric_labels = (q_name(labels[0]), labels[1])
            children = self._children[labels] = _Children(
                self.total_messages.labels(*metric_labels),
                self.total_errored_messages.labels(*metric_labels),
                self.total_retried_messages.labels(*metric_labels),
                self.total_rejected_messages.labels(*metric_labels),
                self.inprogress_messages.labels(*metric_labels),
                self.inprogress_delayed_messages.labels(*metric_labels),
                self.message_durations.labels(*metric_labels),
            )
        return children

    @staticmethod
    def _labels(message: MessageProxy | Message[Any]) -> tuple[str, str]:
        """The raw (queue, actor) key; :meth:`_for` maps delay queues to their parent."""
        return message.queue_name, message.actor_name

    # -- hooks ----------------------------------------------------------------------------
    def after_process_boot(self, broker: Broker) -> None:
        self._metrics()

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self._metrics()
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        with series_lock(directory) if directory else contextlib.nullcontext():
            for actor_name in sorted(broker.get_declared_actors()):  # every series at 0, at once
                self._for((broker.get_actor(actor_name).queue_name, actor_name))
        if directory and os.environ.get("TASKQ_METRICS_MASTER_PID"):
            self._status_reporter = StatusReporter(broker, directory)
            self._status_reporter.start()

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        if self._status_reporter is not None:
            self._status_reporter.stop()
            self._status_reporter = None
        self._updates.stop()

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        current: _Running | None = getattr(self._current, "message", None)
        if current is not None and current.message_id == message.message_id and not current.retried:
            current.retried = True  # the thread re-enqueued its own message: a retry
            self._updates.inc(self._for(self._labels(message)).retried)
            return
        if self._delayed:
            delayed_labels = self._delayed.pop(message.message_id, None)
            if delayed_labels is not None:  # a held delayed message promoted to its queue
                self._updates.inc(self._for(delayed_labels).delayed_inprogress, -1)

    def before_delay_message(self, broker: Broker, message: MessageProxy) -> None:
        labels = self._labels(message)
        self._delayed[message.message_id] = labels
        self._updates.inc(self._for(labels).delayed_inprogress)

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        if self._delayed:
            delayed_labels = self._delayed.pop(message.message_id, None)
            if delayed_labels is not None:
                self._updates.inc(self._for(delayed_labels).delayed_inprogress, -1)
        labels = (message.queue_name, message.actor_name)
        children = self._children.get(labels) or self._for(labels)
        self._updates.start(children.inprogress)
        # Replaces the thread's previous record, which after_enqueue still reads while that
        # message's own hooks run (a retry enqueued by Retries counts as one).
        self._current.message = _Running(message.message_id, current_millis(), children)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        current: _Running | None = getattr(self._current, "message", None)
        if current is not None and current.message_id == message.message_id and current.running:
            current.running = False
            children = current.children
            duration = current_millis() - current.start
            running = children.inprogress
        else:
            children, duration, running = self._for(self._labels(message)), 0, None
        self._updates.finish(children, duration, running=running, errored=exception is not None)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        self._current.message = None
        self._updates.inc(self._for(self._labels(message)).rejected)
