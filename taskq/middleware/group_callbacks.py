"""GroupCallbacks: enqueue a group's completion callbacks when its last member finishes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..constants import DEFAULT_BARRIER_TTL
from ..message import Message
from ..rate_limits import Barrier, RateLimiterBackend
from .middleware import Middleware

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.group_callbacks")

#: How long a group's barrier is kept (ms): a group must finish within it.


class GroupCallbacks(Middleware):
    """Makes ``group.add_completion_callback`` work: ``group.run()`` creates a barrier of the
    group's size in ``rate_limiter_backend``; every member that succeeds arrives at it and the
    last one enqueues the callbacks. Use a shared backend (Redis, Memcached) across processes.
    """

    message_options = frozenset({"group_completion_uuid", "group_completion_callbacks"})

    def __init__(
        self, rate_limiter_backend: RateLimiterBackend, *, barrier_ttl: int = DEFAULT_BARRIER_TTL
    ) -> None:
        self.rate_limiter_backend = rate_limiter_backend
        self.barrier_ttl = barrier_ttl

    def create_barrier(self, group_id: str, count: int) -> bool:
        """Create the barrier of group ``group_id`` with ``count`` members (``group.run`` calls
        this); False if it already existed."""
        return Barrier(self.rate_limiter_backend, group_id, ttl=self.barrier_ttl).create(count)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None or message.failed:
            return
        group_id = message.options.get("group_completion_uuid")
        callbacks = message.options.get("group_completion_callbacks")
        if not group_id or not callbacks:
            return
        barrier = Barrier(self.rate_limiter_backend, group_id, ttl=self.barrier_ttl)
        if not barrier.wait(block=False):
            return
        logger.debug("Group %s completed; enqueueing %d callback(s).", group_id, len(callbacks))
        for data in callbacks:
            broker.enqueue(Message.from_dict(data))
