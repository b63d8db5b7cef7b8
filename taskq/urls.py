"""Brokers from URLs: ``redis://``, ``rediss://``, ``amqp://``, ``amqps://``, ``sqlite:///path``,
``stub://``, plus any scheme a package registers in the ``taskq.brokers`` entry-point group."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .common import mask_url, pop_query_parameter, sqlite_path
from .constants import BROKER_URL_ENV, DEFAULT_BROKER_URL
from .events.publisher import Events
from .results import Results
from .results.defaults import DefaultResults

if TYPE_CHECKING:
    from .broker import Broker

ENTRY_POINT_GROUP = "taskq.brokers"


def _redis(url: str, **kwargs: Any) -> Broker:
    from .brokers.redis import RedisBroker

    url, namespace = pop_query_parameter(url, "namespace")
    if namespace:
        kwargs.setdefault("namespace", namespace)
    return RedisBroker(url=url, **kwargs)


def _rabbitmq(url: str, **kwargs: Any) -> Broker:
    from .brokers.rabbitmq import RabbitmqBroker

    return RabbitmqBroker(url=url, **kwargs)


def _sqlite(url: str, **kwargs: Any) -> Broker:
    from .brokers.sqlite import SQLiteBroker

    return SQLiteBroker(path=sqlite_path(url), **kwargs)


def _stub(url: str, **kwargs: Any) -> Broker:
    from .brokers.stub import StubBroker

    return StubBroker(**kwargs)


BUILTIN_SCHEMES: dict[str, Callable[..., Broker]] = {
    "redis": _redis,
    "rediss": _redis,
    "amqp": _rabbitmq,
    "amqps": _rabbitmq,
    "sqlite": _sqlite,
    "stub": _stub,
}


def add_default_results(broker: Broker) -> None:
    """Give ``broker`` a Results middleware (see :mod:`taskq.results.defaults`) unless it has
    one, so ``store_results=True`` works with no configuration."""

    broker.ensure_middleware(Results, lambda: DefaultResults.for_broker(broker))


def broker_from_url(url: str, **kwargs: Any) -> Broker:
    """Build a broker from ``url``, with results stored beside its messages (or where
    ``TASKQ_RESULTS_URL`` says); raises ``ValueError`` naming the scheme if it is unknown."""
    scheme = urlsplit(url).scheme.lower()
    factory = BUILTIN_SCHEMES.get(scheme)
    if factory is None:
        # Only a scheme taskq does not know reads the installed packages' entry points.
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name == scheme:
                factory = entry.load()
                break
    if factory is None:
        known = sorted({*BUILTIN_SCHEMES, *(e.name for e in entry_points(group=ENTRY_POINT_GROUP))})
        raise ValueError(
            f"Unknown broker URL scheme {scheme!r} in {mask_url(url)!r}; known schemes: "
            f"{', '.join(known)}. Packages add schemes via the {ENTRY_POINT_GROUP!r} entry points."
        )
    broker = factory(url, **kwargs)
    add_default_results(broker)
    if os.environ.get("TASKQ_EVENTS", "").lower() in ("1", "true", "yes", "on"):
        broker.ensure_middleware(Events)
    return broker


def default_broker() -> Broker:
    """The broker :func:`taskq.get_broker` builds when none was set: ``TASKQ_BROKER_URL``,
    else the embedded SQLite broker at ``.taskq/taskq.db``."""
    return broker_from_url(os.environ.get(BROKER_URL_ENV) or DEFAULT_BROKER_URL)
