"""Former path of :mod:`taskq.events.transport`, kept while the brokers import it from here."""

from __future__ import annotations

from .events.transport import EventStream, LocalEventBus

__all__ = ["EventStream", "LocalEventBus"]
