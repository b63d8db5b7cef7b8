"""``run_worker()`` with no module: a worker inside the kernel, for actors defined in cells.

The worker is a :class:`taskq.Worker` (threads, or greenlets under gevent) in the kernel
process, so it runs the very functions the notebook defined. It consumes queues declared after
it started, and looks each actor up by name when a message starts, so re-running an actor's cell
replaces the function that runs next. Interrupting the kernel raises KeyboardInterrupt in the
main thread only: the worker threads finish what they run.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..middleware.middleware import Middleware
from ..worker import Worker
from ._render import format_elapsed, shorten

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

_running: weakref.WeakSet[KernelWorker] = weakref.WeakSet()

#: Milliseconds the worker's threads block on the broker before checking for a stop.
KERNEL_WORKER_TIMEOUT = 200


class WorkerStats(Middleware):
    """Counts what the in-kernel worker does: busy threads, processed, failed, skipped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self.processed = 0
        self.failed = 0
        self.skipped = 0
        #: ``actor: ExceptionType: message`` of the latest failure, if any.
        self.last_failure: str | None = None

    @property
    def busy(self) -> int:
        """How many messages run right now."""
        return len(self._running)

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            self._running.add(message.message_id)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._running.discard(message.message_id)
            self.processed += 1
            if exception is not None:
                self.failed += 1
                self.last_failure = f"{message.actor_name}: {type(exception).__name__}: {exception}"

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            self._running.discard(message.message_id)
            self.processed += 1
            self.skipped += 1


class KernelWorker:
    """A :class:`taskq.Worker` running in this kernel; see :func:`taskq.notebook.run_worker`.

    ``stop()`` drains it (running messages finish, prefetched ones go back to the broker); it
    is also stopped at interpreter exit, i.e. at kernel shutdown or restart.
    """

    def __init__(
        self,
        broker: Broker,
        *,
        threads: int = 8,
        queues: Sequence[str] | None = None,
        show: bool = True,
    ) -> None:
        self.broker = broker
        self.threads = threads
        self.stats = WorkerStats()
        broker.add_middleware(self.stats)
        self.worker = Worker(
            broker, queues=queues, worker_threads=threads, worker_timeout=KERNEL_WORKER_TIMEOUT
        )
        self.started_at = time.monotonic()
        self.stopped_at: float | None = None
        self._stop_lock = threading.Lock()
        self.worker.start()
        _running.add(self)
        self._view: Any = None
        if show:
            from ._env import widgets_available

            if widgets_available():
                from ._widget_views import StatusWidget

                self._view = StatusWidget(self)

    # -- state ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True until :meth:`stop`."""
        return self.stopped_at is None

    @property
    def processed(self) -> int:
        """Messages run so far (succeeded, failed or skipped)."""
        return self.stats.processed

    @property
    def failed(self) -> int:
        """Runs that raised (a retried message counts once per failed attempt)."""
        return self.stats.failed

    @property
    def busy(self) -> int:
        """Threads running a message right now."""
        return self.stats.busy

    @property
    def queues(self) -> list[str]:
        """The queues consumed: every declared one, or those selected with ``queues=``."""
        declared = self.broker.get_declared_queues()
        selected = self.worker.queues
        return sorted(q for q in declared if selected is None or q in selected)

    @property
    def actors(self) -> list[str]:
        """The actors this worker can run (every actor declared on the broker)."""
        return sorted(self.broker.get_declared_actors())

    # -- stopping -------------------------------------------------------------------------
    def stop(self, timeout: int = 10_000) -> int:
        """Stop gracefully: stop fetching, requeue what is prefetched, wait up to ``timeout``
        ms for running messages. Returns 0, or 1 when some were still running then."""
        with self._stop_lock:
            if self.stopped_at is None:
                self.worker.stop(timeout=timeout)
                self.broker.middleware = [m for m in self.broker.middleware if m is not self.stats]
                self.stopped_at = time.monotonic()
                _running.discard(self)
        if self._view is not None:
            self._view.refresh(final=True)
        return 1 if any(t.is_alive() for t in self.worker.workers) else 0

    def __enter__(self) -> KernelWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- rendering ------------------------------------------------------------------------
    def uptime(self) -> float:
        """Seconds since it started, frozen once stopped."""
        end = self.stopped_at if self.stopped_at is not None else time.monotonic()
        return end - self.started_at

    def summary_text(self) -> str:
        """``running · 3/8 threads busy · processed 120 · failed 2 · queues: default``."""
        state = "running" if self.running else "stopped"
        queues = ", ".join(self.queues) or "none yet"
        return (
            f"{state} · {self.busy}/{self.threads} threads busy · processed {self.processed} · "
            f"failed {self.failed} · queues: {queues} · up {format_elapsed(self.uptime())}"
        )

    def to_text(self) -> str:
        """Plain text for terminals and ``text/plain``."""
        text = f"taskq in-kernel worker: {self.summary_text()}"
        if self.stats.last_failure:
            text += f"\nlast failure: {shorten(self.stats.last_failure, 200)}"
        return text

    def to_html(self) -> str:
        """The status as static HTML (what a saved notebook keeps)."""
        colour = "#16a34a" if self.running else "#6b7280"
        failure = ""
        if self.stats.last_failure:
            failure = (
                "<div style='color:#dc2626'>last failure: "
                f"{html.escape(shorten(self.stats.last_failure, 200))}</div>"
            )
        actors = ", ".join(self.actors) or "none yet"
        return (
            f"<div><b>taskq in-kernel worker</b> <span style='color:{colour}'>●</span> "
            f"{html.escape(self.summary_text())}</div>"
            f"<div style='color:#6b7280'>actors: {html.escape(shorten(actors, 200))}</div>"
            f"{failure}"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<taskq in-kernel worker {self.summary_text()}>"


def running_kernel_workers() -> list[KernelWorker]:
    """The in-kernel workers not stopped yet."""
    return list(_running)


@atexit.register
def _stop_kernel_workers() -> None:
    for worker in list(_running):
        with contextlib.suppress(Exception):
            worker.stop(timeout=5_000)
