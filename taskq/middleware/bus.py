"""The hook bus a broker carries: ``emit_before``/``emit_after`` call one hook on every
middleware, as in Dramatiq, and workers ask it which ``process_message`` hooks a message needs
(see :mod:`taskq.middleware.plan`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .middleware import Middleware, MiddlewareError
from .plan import MessagePlan

if TYPE_CHECKING:
    from ..actor import Actor
    from ..delivery import MessageProxy


class HookBus:
    """Calls the hooks of ``middleware``; :class:`~taskq.broker.Broker` is one."""

    middleware: list[Middleware]
    logger: logging.Logger

    def __init__(self) -> None:
        #: hook name -> (the middleware list it was computed for, the middleware to call).
        self._listeners: dict[str, tuple[list[Any], list[Any]]] = {}
        #: actor name -> the process_message hooks its messages need.
        self._plans: dict[str, MessagePlan] = {}

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        """Call ``before_<signal>`` on every middleware, in order.

        A :class:`MiddlewareError` (``SkipMessage``, ``ResultsNotConfigured``, ...) is how a
        hook stops what is under way, so it propagates. Any other exception is a bug in that
        middleware: it is logged and the remaining hooks still run, as in Dramatiq, so one
        faulty middleware cannot block every send or every message.
        """
        name = "before_" + signal
        cached = self._listeners.get(name)
        hooks = cached[1] if cached is not None and cached[0] == self.middleware else None
        self.call_before(signal, self._hooks(name) if hooks is None else hooks, *args, **kwargs)

    def emit_after(self, signal: str, *args: Any, **kwargs: Any) -> None:
        """Call ``after_<signal>`` on every middleware, in reverse order; errors are logged."""
        name = "after_" + signal
        cached = self._listeners.get(name)
        hooks = cached[1] if cached is not None and cached[0] == self.middleware else None
        self.call_after(signal, self._hooks(name) if hooks is None else hooks, *args, **kwargs)

    def call_before(self, signal: str, hooks: list[Any], *args: Any, **kwargs: Any) -> None:
        """Call ``hooks`` (``before_<signal>`` methods) as :meth:`emit_before` does."""
        for hook in hooks:
            try:
                hook(self, *args, **kwargs)
            except MiddlewareError:
                raise
            except Exception:
                self.logger.critical(
                    "Unexpected failure in before_%s of %r.",
                    signal,
                    getattr(hook, "__self__", hook),
                    exc_info=True,
                )

    def call_after(self, signal: str, hooks: list[Any], *args: Any, **kwargs: Any) -> None:
        """Call ``hooks`` (``after_<signal>`` methods) as :meth:`emit_after` does."""
        for hook in hooks:
            try:
                hook(self, *args, **kwargs)
            except Exception:
                self.logger.critical(
                    "Unexpected failure in after_%s of %r.",
                    signal,
                    getattr(hook, "__self__", hook),
                    exc_info=True,
                )

    def message_hooks(self, actor: Actor[..., Any], message: MessageProxy) -> MessagePlan | None:
        """The ``process_message`` hooks to call for ``message`` of ``actor`` (see
        :mod:`taskq.middleware.plan`), or None when it needs every one."""
        plan = self._plans.get(actor.actor_name)
        if (  # rebuilt when the actor, the middleware list or the actor's options changed
            plan is None
            or plan.actor is not actor
            or plan.middleware != self.middleware
            or plan.options != actor.options
        ):
            plan = self._plans[actor.actor_name] = MessagePlan(actor, self.middleware, self._hooks)
        return plan if plan.woken_by.isdisjoint(message.options) else None

    def _hooks(self, name: str) -> list[Any]:
        """The bound ``name`` methods of the middleware that override :class:`Middleware`'s
        no-op, in calling order (reversed for ``after_`` hooks).

        Calling only those keeps the per-message cost of a deep stack low; the answer is
        recomputed whenever the middleware list changes.
        """
        cached = self._listeners.get(name)
        if cached is not None and cached[0] == self.middleware:
            return cached[1]
        base = getattr(Middleware, name, None)
        hooks = [
            getattr(m, name)
            for m in self.middleware
            if base is None
            or name in getattr(m, "__dict__", ())
            or getattr(type(m), name, None) is not base
        ]
        if name.startswith("after_"):
            hooks.reverse()
        self._listeners[name] = (list(self.middleware), hooks)
        return hooks
