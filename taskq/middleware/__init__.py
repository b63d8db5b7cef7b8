"""Middleware: one module per feature, all on the hook bus of :class:`Middleware`."""

from __future__ import annotations

from typing import Any

from .age_limit import AgeLimit
from .callbacks import Callbacks
from .current_message import CurrentMessage
from .middleware import Middleware, MiddlewareError, SkipMessage
from .pipelines import Pipelines
from .retries import Retries
from .shutdown import Shutdown, ShutdownNotifications
from .threading import Interrupt, raise_thread_exception
from .time_limit import TimeLimit, TimeLimitExceeded

#: Loaded on first use: these need optional dependencies or live outside this package.
_LAZY = {
    "AsyncIO": ".asyncio",
    "Prometheus": "taskq.metrics.prometheus",
    "GroupCallbacks": ".group_callbacks",
    "Abortable": ".abort",
    "Abort": ".abort",
    "Events": "taskq.events.publisher",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)


#: The stack every broker gets unless given ``middleware=``: exactly Dramatiq 2's, in its
#: order. taskq's other middleware (Results, CurrentMessage, AsyncIO, Prometheus, Events,
#: Abortable, GroupCallbacks, ...) are added where wanted; brokers built from a URL add a
#: Results middleware (see :mod:`taskq.urls`).
default_middleware: list[type[Middleware]] = [
    AgeLimit,
    TimeLimit,
    ShutdownNotifications,
    Callbacks,
    Pipelines,
    Retries,
]

__all__ = [
    "AgeLimit",
    "AsyncIO",
    "Callbacks",
    "CurrentMessage",
    "Interrupt",
    "Middleware",
    "MiddlewareError",
    "Pipelines",
    "Retries",
    "Shutdown",
    "ShutdownNotifications",
    "SkipMessage",
    "TimeLimit",
    "TimeLimitExceeded",
    "default_middleware",
    "raise_thread_exception",
    "Prometheus",
    "GroupCallbacks",
    "Abortable",
    "Abort",
    "Events",
]
