"""Which ``process_message`` hooks a worker calls for one actor's messages.

Most messages need little from most middleware: a message without ``max_age`` on an actor
without one has nothing to fear from AgeLimit, and a success gives Retries nothing to do.
Each middleware says so through :meth:`~taskq.middleware.Middleware.quiet_for`; a
:class:`MessagePlan` lists, per actor, the hooks left once the quiet ones are set aside.
A message that sets an option in some quiet middleware's
:attr:`~taskq.middleware.Middleware.woken_by` gets every hook, as does any failure or skip.

A middleware is set aside only when the class that says it is quiet is also the one whose
hooks would run: a subclass that overrides a hook, or a hook patched on the instance, is always
called. A plan is rebuilt when the broker's middleware list or the actor's options change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .middleware import Middleware

if TYPE_CHECKING:
    from ..actor import Actor

#: The hooks a quiet middleware's calls are skipped for.
SKIPPED_HOOKS = ("before_process_message", "after_process_message")


def is_quiet(middleware: Middleware, actor: Actor[..., Any]) -> bool:
    """Whether ``middleware`` may be set aside for ``actor``'s plain messages."""
    cls = type(middleware)
    owner = next((c for c in cls.__mro__ if "quiet_for" in c.__dict__), Middleware)
    if owner is Middleware:
        return False
    for name in SKIPPED_HOOKS:
        if name in getattr(middleware, "__dict__", ()):
            return False
        if getattr(cls, name) is not getattr(owner, name):
            return False
    return middleware.quiet_for(actor)


class MessagePlan:
    """The ``process_message`` hooks to call for one actor's messages, in calling order."""

    __slots__ = ("actor", "middleware", "options", "before", "after", "woken_by")

    def __init__(
        self,
        actor: Actor[..., Any],
        middleware: list[Middleware],
        hooks: Callable[[str], list[Any]],
    ) -> None:
        self.actor = actor
        self.middleware = list(middleware)
        self.options = dict(actor.options)
        quiet = [m for m in middleware if is_quiet(m, actor)]
        quiet_ids = {id(m) for m in quiet}

        def kept(name: str) -> list[Any]:
            return [h for h in hooks(name) if id(getattr(h, "__self__", None)) not in quiet_ids]

        #: ``before_process_message`` hooks.
        self.before = kept("before_process_message")
        #: ``after_process_message`` hooks, for a message that succeeded.
        self.after = kept("after_process_message")
        #: Message options that call for every hook instead.
        self.woken_by = frozenset().union(*(m.woken_by for m in quiet))
