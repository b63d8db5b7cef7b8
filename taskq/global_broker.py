"""The one global (DESIGN.md §8): the current broker, behind :func:`get_broker` and
:func:`set_broker`.

A leaf module: it imports no other part of taskq, so any module (``message.py`` included) can
find the current broker without depending on the broker layer. How a first broker is built
when nobody set one (``TASKQ_BROKER_URL``, else the embedded SQLite file) is plugged in by the
package (``taskq/__init__.py`` registers :func:`taskq.urls.default_broker`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .broker import Broker

_global_broker: Broker | None = None
_default_factory: Callable[[], Broker] | None = None


def get_broker() -> Broker:
    """Return the current broker, creating it on first use.

    Without :func:`set_broker`, the broker comes from ``TASKQ_BROKER_URL`` or, failing that,
    the embedded SQLite broker at ``.taskq/taskq.db``.
    """
    global _global_broker
    if _global_broker is None:
        if _default_factory is None:  # pragma: no cover - taskq/__init__.py registers one
            raise RuntimeError("no broker set and no default broker factory registered")
        _global_broker = _default_factory()
    return _global_broker


def set_broker(broker: Broker) -> None:
    """Make ``broker`` the current broker (used by actors declared without ``broker=``)."""
    global _global_broker
    _global_broker = broker


def _reset_global_broker() -> None:
    """Forget the current broker (tests and the worker's reload use this)."""
    global _global_broker
    _global_broker = None


def set_default_broker_factory(factory: Callable[[], Broker]) -> None:
    """Build the first broker with ``factory`` when :func:`get_broker` finds none set."""
    global _default_factory
    _default_factory = factory
