"""Callbacks: run ``on_success`` / ``on_failure`` actors after a message completes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..options import lookup_option
from .middleware import Middleware

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy


class Callbacks(Middleware):
    """``on_success`` actors get ``(message_data, result)``; ``on_failure`` actors get
    ``(message_data, {"type": ..., "message": ...})`` after every failed attempt, as in
    Dramatiq (``message_data["options"]["retries"]`` counts the failures so far; the Retries
    middleware's ``on_retry_exhausted`` is called only once retries run out). Options hold
    actor names or actors."""

    actor_options = frozenset({"on_success", "on_failure"})
    woken_by = frozenset({"on_success", "on_failure"})

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """When the actor has no ``on_success`` (a failure always runs the hook)."""
        return not actor.options.get("on_success")

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        actor = broker.get_actor(message.actor_name)
        if exception is None:
            name = lookup_option("on_success", message.options, actor.options, unset="falsy")
            if name:
                callback = broker.get_actor(_actor_name(name))
                callback.send(message.asdict(), result)
        else:
            name = lookup_option("on_failure", message.options, actor.options, unset="falsy")
            if name:
                callback = broker.get_actor(_actor_name(name))
                details = {"type": type(exception).__name__, "message": str(exception)}
                callback.send(message.asdict(), details)


def _actor_name(value: Any) -> str:
    return value if isinstance(value, str) else value.actor_name
