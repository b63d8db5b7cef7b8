"""ShutdownNotifications: raise Shutdown in actors with ``notify_shutdown=True`` on stop."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .threading import Interrupt, PerThreadMiddleware, raise_thread_exception

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.shutdown")


class Shutdown(Interrupt):
    """Raised inside a running actor's thread when the worker shuts down."""


class ShutdownNotifications(PerThreadMiddleware):
    """When the worker stops, raise :class:`Shutdown` in threads running actors declared (or
    sent) with ``notify_shutdown=True``, so long jobs can save state and exit early."""

    actor_options = frozenset({"notify_shutdown"})

    def __init__(self, notify_shutdown: bool = False) -> None:
        super().__init__()
        self.notify_shutdown = notify_shutdown

    def _should_notify(self, broker: Broker, message: MessageProxy) -> bool:
        if "notify_shutdown" in message.options:
            return bool(message.options["notify_shutdown"])
        actor = broker.get_actor(message.actor_name)
        return bool(actor.options.get("notify_shutdown", self.notify_shutdown))

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        if self._should_notify(broker, message):
            self._remember(message.message_id)

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        with self._lock:
            targets = list(self.running.items())
        for thread_id, message_id in targets:
            logger.info(
                "Worker shutdown: raising Shutdown in the thread of message %s.", message_id
            )
            raise_thread_exception(thread_id, Shutdown)
