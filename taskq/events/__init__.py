"""Message lifecycle events: published by a middleware, carried by the broker, followed by clients.

- :mod:`taskq.events.publisher`: the :class:`Events` middleware that publishes each message's
  lifecycle (also importable as ``taskq.middleware.events``);
- :mod:`taskq.events.transport`: the :class:`EventStream` interface brokers implement, and the
  in-process bus of the StubBroker;
- :mod:`taskq.events.subscription`: following events (an iterator, a callback thread, history),
  re-exported here as ``taskq.events.subscribe`` and friends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .subscription import (
        EVENT_KINDS,
        CallbackSubscription,
        Event,
        Subscription,
        history,
        subscribe,
        subscribe_callback,
    )

__all__ = [
    "EVENT_KINDS",
    "CallbackSubscription",
    "Event",
    "Subscription",
    "history",
    "subscribe",
    "subscribe_callback",
]


def __getattr__(name: str) -> Any:
    """The re-exports above, loaded on first use: every broker imports this package's
    ``transport`` at start-up, and only readers of events need ``subscription``."""
    if name in __all__:
        from . import subscription

        return getattr(subscription, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
