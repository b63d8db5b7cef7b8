"""Follow a set of messages to completion from lifecycle events and result polling.

The tracker is the model behind :func:`taskq.notebook.watch`: it knows nothing about widgets
or terminals; views subscribe with :meth:`Tracker.add_listener` and redraw from
:meth:`Tracker.snapshot`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..message import Message
from ..results.errors import ResultFailure, ResultMissing
from .rows import EVENT_STATUS, STATUSES, Row, event_error, record_times

if TYPE_CHECKING:
    from ..broker import Broker
    from ..results.backend import ResultBackend

logger = logging.getLogger("taskq.notebook")

#: How many pending results one polling round fetches at most.
POLL_BATCH = 250
#: How long (s) to keep looking for the value of a message an event said succeeded.
VALUE_GRACE = 5.0
#: How long (s) to keep reading events once all finished, for start and finish times.
LINGER = 2.0


class Tracker:
    """Tracks ``messages`` on ``broker`` in a background thread until all are final.

    Lifecycle events (when workers run with the Events middleware) give live statuses; the
    results backend (when actors store results) gives values, errors and the final word.
    ``poll_interval`` is in milliseconds.
    """

    def __init__(
        self, messages: Iterable[Message[Any]], broker: Broker, *, poll_interval: int = 200
    ) -> None:
        self.broker = broker
        self.rows: dict[str, Row] = {}
        # what a results backend is asked for: the message when known (some backends key
        # results by queue and actor too), else the bare id
        self._lookups: dict[str, Message[Any] | str] = {}
        for message in messages:
            known = message.actor_name != "?"
            label = str(message) if known else message.message_id
            row = Row(message.message_id, label)
            if known:
                row.actor = message.actor_name
                row.args, row.kwargs = list(message.args), dict(message.kwargs)
            self.rows.setdefault(message.message_id, row)
            self._lookups[message.message_id] = message if known else message.message_id
        self.poll_interval = poll_interval / 1000
        self.started_at = time.monotonic()
        self.finished_at: float | None = None
        self.backend = _results_backend(broker)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._stopped = threading.Event()
        self._stop_requested = threading.Event()
        self._settled = threading.Event()  # the thread ended, times collected
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor = 0
        #: Succeeded (says an event) but the stored value is not readable yet:
        #: message id -> (give-up time, the result as the event carried it).
        self._awaiting_value: dict[str, tuple[float, Any]] = {}
        if not self.rows:
            self._finish()

    # -- what views read ------------------------------------------------------------------
    @property
    def total(self) -> int:
        """How many messages are tracked."""
        return len(self.rows)

    @property
    def done(self) -> bool:
        """True once every tracked message reached a final status."""
        return self._finished.is_set()

    @property
    def stopped(self) -> bool:
        """True once tracking ended (all done, or stopped early)."""
        return self._stopped.is_set() or self.done

    def counts(self) -> dict[str, int]:
        """How many messages are in each status (every status present, zeros included)."""
        counts = dict.fromkeys(STATUSES, 0)
        with self._lock:
            for row in self.rows.values():
                counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def finished_count(self) -> int:
        """How many messages reached a final status."""
        with self._lock:
            return sum(row.done for row in self.rows.values())

    def snapshot(self) -> list[Row]:
        """Copies of the rows, in the order the messages were given."""
        with self._lock:
            return [Row(**vars(row)) for row in self.rows.values()]

    def rate(self) -> float:
        """Messages finished per second so far (0 before the first one)."""
        elapsed = self.elapsed()
        return self.finished_count() / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds until every message finished at the current rate (None while unknown)."""
        rate = self.rate()
        if self.done:
            return 0.0
        return (self.total - self.finished_count()) / rate if rate > 0 else None

    def elapsed(self) -> float:
        """Seconds since tracking started, frozen once everything finished."""
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from the tracker thread) after each batch of changes."""
        self._listeners.append(listener)

    # -- running ---------------------------------------------------------------------------
    def start(self) -> Tracker:
        """Start the background thread (a no-op once started)."""
        if self._thread is None and not self.stopped:
            self._thread = threading.Thread(target=self._run, name="taskq-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop tracking; the thread exits within one poll interval."""
        self._stop_requested.set()
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def wait(self, timeout: int | None = None) -> bool:
        """Block until every message is final (True) or ``timeout`` ms pass (False)."""
        self.start()
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        while not self._finished.is_set():
            if self._stopped.is_set():
                return False
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._finished.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def _run(self) -> None:
        stream = self._subscribe()
        try:
            self._catch_up()
            self._notify()
            next_poll = 0.0
            while not self._stopped.is_set() and not self._finished.is_set():
                changed = self._drain_events(stream)
                if time.monotonic() >= next_poll:
                    changed = self._poll_results() or changed
                    next_poll = time.monotonic() + self.poll_interval
                if changed:
                    self._check_finished()
                    self._notify()
        except Exception:
            logger.exception("taskq.notebook: watching stopped after an unexpected error")
        finally:
            self._stopped.set()
            self._notify()
            try:
                if self._finished.is_set() and not self._stop_requested.is_set():
                    self._linger(stream)
            finally:
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
                self._settled.set()

    def _linger(self, stream: Any) -> None:
        """Once all finished, keep reading events a little longer (at most LINGER seconds),
        only for the start and finish times of messages whose stored result came first."""
        deadline = time.monotonic() + LINGER
        with contextlib.suppress(Exception):
            self._catch_up()
        while stream is not None and time.monotonic() < deadline:
            if self._stop_requested.is_set() or self._times_known():
                return
            self._drain_events(stream)

    def _times_known(self) -> bool:
        with self._lock:
            return all(row.duration_ms is not None for row in self.rows.values())

    def wait_settled(self, timeout: int = int(LINGER * 1000) + 1000) -> None:
        """Wait (at most ``timeout`` ms) until the times of finished messages are known."""
        if self._thread is not None:
            self._settled.wait(timeout / 1000)

    # -- events ------------------------------------------------------------------------------
    def _subscribe(self) -> Any:
        try:
            return self.broker.subscribe_events(timeout=int(self.poll_interval * 1000))
        except Exception as e:  # a broker without events: results polling alone
            logger.debug("no lifecycle events from %r: %s", self.broker, e)
            return None

    def _catch_up(self) -> None:
        """Apply events published before we subscribed (where the broker keeps history)."""
        try:
            history = self.broker.recent_events(limit=max(1000, 6 * self.total))
        except Exception:
            return
        for event in history:
            self.apply_event(event)
        self._check_finished()

    def _drain_events(self, stream: Any) -> bool:
        if stream is None:
            self._stopped.wait(self.poll_interval)
            return False
        changed = False
        deadline = time.monotonic() + self.poll_interval
        while time.monotonic() < deadline:
            event = next(stream, None)
            if event is None:
                break
            changed = self.apply_event(event) or changed
        return changed

    def apply_event(self, event: dict[str, Any]) -> bool:
        """Update a row from one lifecycle event; True if it changed something."""
        status = EVENT_STATUS.get(str(event.get("event")))
        message_id = str(event.get("message_id"))
        row = self.rows.get(message_id)
        stores_result = "result" in event and self.backend is not None and row and not row.done
        if row is not None:  # also completes a row its stored result already finished
            with self._lock:
                record_times(row, event)
                if event.get("traceback"):
                    row.traceback = str(event["traceback"])
        if status == "succeeded" and stores_result:
            # The actor stores its result: that value, not the event, finishes the row.
            if self._fetch(message_id):
                return True
            self._awaiting_value[message_id] = (time.monotonic() + VALUE_GRACE, event["result"])
            status = "started"
        with self._lock:
            row = self.rows.get(message_id)
            if row is None or status is None or row.done:
                return False
            if status == "queued" and row.status != "queued":
                return False  # a late "enqueued" never moves a message backwards
            row.status = status
            row.changed_at = time.monotonic()
            error = event_error(event)
            if error:
                row.error = error
        return True

    # -- results -----------------------------------------------------------------------------
    def _poll_results(self) -> bool:
        if self.backend is None:
            return False
        changed = False
        for message_id, (give_up_at, event_result) in list(self._awaiting_value.items()):
            if self._fetch(message_id):
                del self._awaiting_value[message_id]
                changed = True
            elif time.monotonic() > give_up_at:  # expired or evicted: keep what the event said
                del self._awaiting_value[message_id]
                changed = self._settle(message_id, "succeeded", result=event_result) or changed
        with self._lock:
            pending = [row.message_id for row in self.rows.values() if not row.done]
        if not pending:
            return changed
        self._cursor %= len(pending)
        batch = pending[self._cursor : self._cursor + POLL_BATCH]
        self._cursor += len(batch)
        for message_id in batch:
            if self._stopped.is_set():
                break
            changed = self._fetch(message_id) or changed
        return changed

    def _fetch(self, message_id: str) -> bool:
        assert self.backend is not None
        try:
            value = self.backend.get_result(self._lookups.get(message_id, message_id))
        except ResultMissing:
            return False
        except ResultFailure as e:
            return self._settle(message_id, "failed", error=f"{e.orig_exc_type}: {e.orig_exc_msg}")
        except Exception as e:  # a backend hiccup must not end the watch
            logger.debug("polling the result of %s failed: %s", message_id, e)
            return False
        return self._settle(message_id, "succeeded", result=value)

    def _settle(
        self, message_id: str, status: str, *, result: Any = None, error: str | None = None
    ) -> bool:
        with self._lock:
            row = self.rows[message_id]
            if row.done:
                return False
            row.status, row.result, row.changed_at = status, result, time.monotonic()
            if row.finished is None:  # no event said when: now is the closest we know
                row.finished = int(time.time() * 1000)
            if error:
                row.error = error
        return True

    def _check_finished(self) -> None:
        if self.rows and self.finished_count() == self.total:
            self._finish()

    def _finish(self) -> None:
        if self.finished_at is None:
            self.finished_at = time.monotonic()
        self._finished.set()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                logger.exception("taskq.notebook: a watch view failed to redraw")


def _results_backend(broker: Broker) -> ResultBackend | None:
    try:
        return broker.get_results_backend()
    except Exception:
        return None
