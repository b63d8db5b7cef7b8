"""``setup_broker()``: the broker a notebook and its workers share, with results and events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..broker import Broker
    from ..results.backend import ResultBackend

logger = logging.getLogger("taskq.notebook")


def results_backend_for(broker: Broker) -> ResultBackend:
    """A result backend stored where ``broker`` keeps its messages, so that every process using
    the same broker URL sees the same results: the SQLite file, the Redis server (namespace
    ``"{namespace}-results"``), else an in-memory StubBackend (one process only).
    Kept for compatibility: this is :meth:`Broker.default_results_backend`."""
    return broker.default_results_backend()


def setup_broker(broker: Broker | None = None, *, events: bool = True) -> Broker:
    """Return ``broker`` (default: ``taskq.get_broker()``, i.e. ``TASKQ_BROKER_URL`` or the
    embedded SQLite file) with a Results middleware on a shared backend and, where available,
    the Events middleware, so that ``watch()`` sees live statuses. Idempotent."""
    from ..broker import get_broker, set_broker
    from ..middleware import CurrentMessage
    from ..results import Results

    broker = broker or get_broker()
    set_broker(broker)
    if broker.get_middleware(Results) is None:
        broker.add_middleware(Results(backend=results_backend_for(broker)))
    if broker.get_middleware(CurrentMessage) is None:
        broker.add_middleware(CurrentMessage())
    if events:
        _add_events(broker)
    return broker


def _add_events(broker: Broker) -> None:
    try:
        from ..middleware.events import Events
    except ImportError:
        logger.debug("taskq.middleware.events is not available: watch() polls results only")
        return
    if broker.get_middleware(Events) is None:
        broker.add_middleware(Events())


def describe(broker: Any) -> str:
    """The broker's kind and location, with any password masked."""
    from ..common import mask_url

    where = getattr(broker, "url", None) or getattr(broker, "path", None) or ""
    return f"{type(broker).__name__}({mask_url(str(where))})"
