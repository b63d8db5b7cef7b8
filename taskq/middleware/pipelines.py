"""Pipelines: after a step succeeds, enqueue the next one with the result appended."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..fan_in import member_finished
from ..message import Message
from ..options import lookup_option
from .middleware import Middleware

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy


class Pipelines(Middleware):
    """Reads ``pipe_target`` (the next message, or a list of them for a group step) and
    ``pipe_ignore``; group members carry ``group_id``/``group_size``/``group_target`` and the
    last one to finish enqueues the next step with the list of the group's results."""

    actor_options = frozenset({"pipe_ignore"})
    message_options = frozenset({"pipe_target", "group_id", "group_size", "group_target"})
    woken_by = frozenset({"pipe_target", "group_target"})

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """Always: only a message that is a pipeline step or a group member concerns it."""
        return True

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
        target = message.options.get("pipe_target")
        if target is not None:
            self._enqueue_next(broker, target, result)
        if "group_target" in message.options:
            self._group_member_done(broker, message)

    def _enqueue_next(self, broker: Broker, target: Any, result: Any) -> None:
        targets = target if isinstance(target, list) else [target]
        messages = []
        for data in targets:
            next_message = Message.from_dict(data)
            actor = broker.get_actor(next_message.actor_name)
            ignore = lookup_option("pipe_ignore", next_message.options, actor.options)
            if not ignore:
                next_message = next_message.copy(args=(*next_message.args, result))
            messages.append(next_message)
        # A step built with message_with_options(delay=...) waits that long once enqueued.
        by_delay: dict[int | None, list[Message[Any]]] = {}
        for next_message in messages:
            by_delay.setdefault(next_message.options.get("delay") or None, []).append(next_message)
        for delay, batch in by_delay.items():
            broker.enqueue_many(batch, delay=delay)

    def _group_member_done(self, broker: Broker, message: MessageProxy) -> None:
        backend = broker.get_results_backend()
        members = member_finished(
            backend, message.options["group_id"], message.options["group_size"]
        )
        if members is None:
            return
        results = [backend.get_result(_member_message(member)) for member in members]
        self._enqueue_next(broker, message.options["group_target"], results)


def _member_message(member: list[str]) -> Message[Any]:
    """A group member as ``group`` records it: ``[queue, actor, id]``."""
    queue_name, actor_name, message_id = member
    return Message(queue_name, actor_name, message_id=message_id)
