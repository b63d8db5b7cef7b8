"""A broker connection that notices outages and reconnects; called only from worker threads."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from taskq.broker import Broker
from taskq.common import mask_url
from taskq.errors import ConnectionError as TaskqConnectionError
from taskq.middleware.events import Events
from taskq.results import Results
from taskq.results.defaults import default_results_backend
from taskq.urls import broker_from_url

T = TypeVar("T")

CONNECTED = "connected"
CONNECTING = "connecting"
DOWN = "down"


class BrokerDown(Exception):
    """The broker could not be reached; the message says why (URL masked)."""


class BrokerLink:
    """Owns the TUI's broker. ``call(fn)`` runs ``fn(broker)``; a failure marks the link down and
    drops the broker so the next call builds a fresh connection."""

    def __init__(
        self,
        url: str,
        broker: Broker | None = None,
        factory: Callable[[str], Broker] | None = None,
    ) -> None:
        self.url = url
        self._factory = factory or broker_for_tui
        self._broker = broker
        self._fixed = broker is not None
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._active_calls = 0
        self.state = CONNECTED if broker is not None else CONNECTING
        self.last_error: str | None = None

    @property
    def masked_url(self) -> str:
        """The URL safe to display."""
        return mask_url(self.url)

    def broker(self) -> Broker:
        """The live broker, connecting first if needed (raises :class:`BrokerDown`)."""
        with self._lock:
            if self._broker is None:
                try:
                    self._broker = self._factory(self.url)
                except Exception as e:
                    self._mark_down(e)
                    raise BrokerDown(self.last_error) from e
            return self._broker

    def call(self, fn: Callable[[Broker], T]) -> T:
        """Run ``fn`` against the broker, tracking the connection state."""
        broker = self.broker()
        with self._idle:
            self._active_calls += 1
        try:
            result = fn(broker)
        except Exception as e:
            if _looks_like_outage(e):
                with self._lock:
                    self._mark_down(e)
                    self._drop()
                raise BrokerDown(self.last_error) from e
            raise
        finally:
            with self._idle:
                self._active_calls -= 1
                self._idle.notify_all()
        self.state = CONNECTED
        self.last_error = None
        return result

    def close(self, wait: float = 3.0) -> None:
        """Close the broker connection once calls in flight finished (up to ``wait`` s)."""
        with self._idle:
            self._idle.wait_for(lambda: self._active_calls == 0, wait)
        with self._lock:
            self._drop()

    def _mark_down(self, error: BaseException) -> None:
        self.state = DOWN
        self.last_error = mask_url(f"{type(error).__name__}: {error}")[:300]

    def _drop(self) -> None:
        if self._broker is not None and not self._fixed:
            with contextlib.suppress(Exception):
                self._broker.close()
            self._broker = None


def broker_with_events(url: str) -> Broker:
    """A broker from ``url`` that also publishes lifecycle events (so UI enqueues show up)."""

    broker = broker_from_url(url)
    broker.ensure_middleware(Events)
    return broker


def broker_for_tui(url: str) -> Broker:
    """The TUI's broker: events published (see :func:`broker_with_events`), plus, unless already
    there, a Results middleware whose backend lives where the broker keeps its data (so stored
    results show in the detail pane). Abortable is *not* added: abort is offered only when the
    actors' own broker has it, since that is the broker the workers load."""

    broker = broker_with_events(url)
    broker.ensure_middleware(Results, lambda: Results(backend=default_results_backend(broker)))
    return broker


def _looks_like_outage(error: BaseException) -> bool:
    if isinstance(error, TaskqConnectionError | OSError | TimeoutError):
        return True
    module = type(error).__module__ or ""
    return module.startswith(("redis", "pika", "sqlite3")) or "Connection" in type(error).__name__


def describe(value: Any) -> str:
    """A short one-line repr for tables."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
