"""AgeLimit: skip messages older than ``max_age`` milliseconds."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..common import current_millis
from ..options import lookup_option
from .middleware import Middleware, SkipMessage

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.age_limit")


class AgeLimit(Middleware):
    """Skip (and dead-letter) messages whose age exceeds the ``max_age`` option (ms)."""

    actor_options = frozenset({"max_age"})
    woken_by = frozenset({"max_age"})

    def __init__(self, *, max_age: int | None = None) -> None:
        self.max_age = max_age

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """When neither this middleware nor the actor sets a ``max_age``."""
        return not (self.max_age or actor.options.get("max_age"))

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        actor = broker.get_actor(message.actor_name)
        max_age = lookup_option(
            "max_age", message.options, actor.options, self.max_age, unset="falsy"
        )
        if not max_age:
            return
        age = current_millis() - message.message_timestamp
        if age > max_age:
            logger.warning(
                "Message %s is %d ms old (max_age %d ms); skipping it.",
                message.message_id,
                age,
                max_age,
            )
            message.fail(f"max_age exceeded: {age} ms > {max_age} ms")
            raise SkipMessage("Message age limit exceeded")
