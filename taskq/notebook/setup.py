"""``setup_broker()``: the broker a notebook and its workers share, with results and events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..brokers.stub import StubBroker
from ..common import mask_url
from ..events.publisher import Events
from ..global_broker import get_broker, set_broker
from ..middleware import CurrentMessage
from ..results import Results
from ..results.backends.stub import StubBackend
from ..results.defaults import default_results_backend
from ..results.urls import RESULTS_URL_ENV

if TYPE_CHECKING:
    from ..broker import Broker
    from ..results.backend import ResultBackend

logger = logging.getLogger("taskq.notebook")


def results_backend_for(broker: Broker) -> ResultBackend:
    """A result backend stored where ``broker`` keeps its messages, so that every process using
    the same broker URL sees the same results: the SQLite file, the Redis server (namespace
    ``"{namespace}-results"``), else an in-memory StubBackend (one process only).
    Kept for compatibility: this is :func:`taskq.results.defaults.default_results_backend`."""
    return default_results_backend(broker)


def setup_broker(broker: Broker | None = None, *, events: bool = True) -> Broker:
    """Return ``broker`` (default: ``taskq.get_broker()``, i.e. ``TASKQ_BROKER_URL`` or the
    embedded SQLite file) with a Results middleware on a shared backend and, where available,
    the Events middleware, so that ``watch()`` sees live statuses. Idempotent."""

    broker = broker or get_broker()
    set_broker(broker)
    broker.ensure_middleware(Results, lambda: _results_for(broker))
    broker.ensure_middleware(CurrentMessage)
    if events:
        _add_events(broker)
    return broker


def _warn_if_results_stay_here(broker: Broker, backend: ResultBackend) -> None:
    if isinstance(backend, StubBackend) and not isinstance(broker, StubBroker):
        logger.warning(
            "%s has no store for results: values stay in the worker that computed them. "
            "Set %s (e.g. redis://127.0.0.1:6379/0) to share them with this notebook.",
            type(broker).__name__,
            RESULTS_URL_ENV,
        )


def _results_for(broker: Broker) -> Results:
    backend = results_backend_for(broker)
    _warn_if_results_stay_here(broker, backend)
    return Results(backend=backend)


def _add_events(broker: Broker) -> None:
    broker.ensure_middleware(Events)


def describe(broker: Any) -> str:
    """The broker's kind and location, with any password masked."""

    where = getattr(broker, "url", None) or getattr(broker, "path", None) or ""
    return f"{type(broker).__name__}({mask_url(str(where))})"
