"""ShutdownNotifications: raise Shutdown in actors with ``notify_shutdown=True`` on stop."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

from ..options import lookup_option
from .threading import (
    Interrupt,
    PerThreadMiddleware,
    current_platform,
    is_gevent_active,
    raise_thread_exception,
    supported_platforms,
)

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy

__all__ = [
    "Shutdown",
    "ShutdownNotifications",
    "current_platform",
    "is_gevent_active",
    "raise_thread_exception",
    "supported_platforms",
]

logger = logging.getLogger("taskq.middleware.shutdown")


class Shutdown(Interrupt):
    """Raised inside a running actor's thread when the worker shuts down."""


class ShutdownNotifications(PerThreadMiddleware):
    """When the worker stops, raise :class:`Shutdown` in threads running actors declared (or
    sent) with ``notify_shutdown=True``, so long jobs can save state and exit early."""

    actor_options = frozenset({"notify_shutdown"})
    woken_by = frozenset({"notify_shutdown"})

    def __init__(self, notify_shutdown: bool = False) -> None:
        super().__init__()
        self.notify_shutdown = notify_shutdown

    def should_notify(self, actor: Actor[..., Any], message: Any) -> bool:
        """Whether a message of ``actor`` is interrupted on shutdown: the message's
        ``notify_shutdown`` option, else the actor's, else the middleware's default (None
        counts as unset at each level)."""
        notify = lookup_option(
            "notify_shutdown", message.options, actor.options, self.notify_shutdown, unset="none"
        )
        return bool(notify)

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """When neither the actor nor this middleware's default asks for a notification."""
        notify = lookup_option(
            "notify_shutdown", {}, actor.options, self.notify_shutdown, unset="none"
        )
        return not notify

    def after_process_boot(self, broker: Broker) -> None:
        if current_platform not in supported_platforms:
            warnings.warn(
                f"ShutdownNotifications cannot kill threads on your current platform "
                f"({current_platform!r}).",
                category=RuntimeWarning,
                stacklevel=2,
            )

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        if self.should_notify(broker.get_actor(message.actor_name), message):
            self._remember(message.message_id)

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        targets = self.snapshot()
        if targets:
            logger.debug("Sending shutdown notification to worker threads...")
        for thread_id, message_id in targets:
            logger.info(
                "Worker shutdown: raising Shutdown in the thread of message %s.", message_id
            )
            raise_thread_exception(thread_id, Shutdown)
