"""Actors: functions that run in the background when messages are sent to them."""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from .asyncio import run_coroutine
from .common import validate_queue_name
from .eta import MAX_ETA_AHEAD_MS
from .global_broker import get_broker
from .logging import get_logger
from .message import Message

if TYPE_CHECKING:
    from .broker import Broker

P = ParamSpec("P")
R = TypeVar("R")

ACTOR_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9._-]*$")


class Actor(Generic[P, R]):
    """A function bound to a broker and a queue. Call ``send`` to run it in the background."""

    fn: Callable[P, R | Awaitable[R]]

    def __init__(
        self,
        fn: Callable[P, R | Awaitable[R]],
        *,
        broker: Broker,
        actor_name: str,
        queue_name: str,
        priority: int,
        options: dict[str, Any],
    ) -> None:
        if actor_name in broker.actors and broker.actors[actor_name].fn is not fn:
            existing = broker.actors[actor_name].fn
            if getattr(existing, "__qualname__", None) != getattr(fn, "__qualname__", None) or (
                getattr(existing, "__module__", None) != getattr(fn, "__module__", None)
            ):
                error = ValueError(f"An actor named {actor_name!r} is already registered.")
                error.add_note(
                    f"It is declared on {broker!r} by {getattr(existing, '__module__', '?')}."
                    f"{getattr(existing, '__qualname__', type(existing).__qualname__)}; pass "
                    "actor_name= to give this one another name."
                )
                raise error
        unknown = set(options) - broker.actor_options
        if unknown:
            raise ValueError(
                f"Actor {actor_name!r} got unknown option(s) {sorted(unknown)}; "
                f"the broker's middleware accepts {sorted(broker.actor_options)}. "
                "Add the middleware that declares the option, or fix its spelling."
            )
        self.fn = fn
        self.broker = broker
        self.actor_name = actor_name
        self.queue_name = validate_queue_name(queue_name)
        self.priority = priority
        self.options = options
        #: The logger ``<module of fn>.<actor name>``, as in Dramatiq.
        self.logger = get_logger(getattr(fn, "__module__", None) or "_", actor_name)
        self.broker.declare_actor(self)

    def message(self, *args: P.args, **kwargs: P.kwargs) -> Message[R]:
        """Build a message for this actor without sending it (for pipelines and groups)."""
        return self.message_with_options(args=args, kwargs=kwargs)

    def message_with_options(
        self,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Message[R]:
        """Build a message with per-message ``options`` (validated against the middleware).

        ``delay`` (ms, or a timedelta) is kept in the options: a pipeline delays this message
        by it when it enqueues it.
        """
        if options:
            self._check_options(options)
            for name in ("on_success", "on_failure"):
                callback = options.get(name)
                if isinstance(callback, Actor):
                    options[name] = callback.actor_name
                elif not isinstance(callback, str | None):
                    raise TypeError(f"{name} value must be an Actor or an actor name")
            if "delay" in options:
                options["delay"] = _delay_ms(options["delay"])
        return Message(
            queue_name=self.queue_name,
            actor_name=self.actor_name,
            args=tuple(args),
            kwargs=kwargs or {},
            options=options,
        )

    def send(self, *args: P.args, **kwargs: P.kwargs) -> Message[R]:
        """Send a message to this actor: ``add.send(1, 2)``. Returns the enqueued message."""
        return self.send_with_options(args=args, kwargs=kwargs)

    def send_with_options(
        self,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        delay: int | timedelta | None = None,
        **options: Any,
    ) -> Message[R]:
        """Send with per-message options; ``delay`` is in milliseconds (or a timedelta)."""
        delay = _delay_ms(delay)
        message = self.message_with_options(args=args, kwargs=kwargs, **options)
        return self.broker.enqueue(message, delay=delay or None)

    def _check_options(self, options: dict[str, Any]) -> None:
        known = self.broker.actor_options | self.broker.message_options
        unknown = set(options) - known - _SEND_OPTIONS
        if unknown:
            raise ValueError(
                f"Unknown message option(s) {sorted(unknown)} for actor {self.actor_name!r}; "
                f"known options are {sorted(known)}."
            )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the actor synchronously in this thread (async actors run to completion)."""
        if not self.logger.isEnabledFor(logging.DEBUG):  # the worker's path, once per message
            return self._run(args, kwargs)
        start = time.perf_counter()
        try:
            return self._run(args, kwargs)
        finally:
            self.logger.debug(
                "Completed %s in %.02f ms.", self.actor_name, (time.perf_counter() - start) * 1000
            )

    def _run(self, args: Any, kwargs: Any) -> R:
        result = self.fn(*args, **kwargs)
        if result is not None and inspect.isawaitable(result):
            return run_coroutine(cast("Coroutine[Any, Any, R]", result))
        return cast(R, result)

    def __repr__(self) -> str:
        return f"Actor({self.fn!r}, queue_name={self.queue_name!r}, actor_name={self.actor_name!r})"

    def __str__(self) -> str:
        return f"Actor({self.actor_name})"


#: Options every message takes whatever the middleware: ``delay`` (read by pipelines).
_SEND_OPTIONS = frozenset({"delay"})


def _delay_ms(delay: Any) -> int | None:
    """``delay`` as whole milliseconds: None stays None, a timedelta is converted, anything
    else must be a non-negative number."""
    if delay is None:
        return None
    if isinstance(delay, timedelta):
        delay = delay.total_seconds() * 1000
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise ValueError(f"delay must be a non-negative number of milliseconds, got {delay!r}")
    if delay > MAX_ETA_AHEAD_MS:  # the worker would dead-letter it (see taskq.eta)
        raise ValueError(
            f"delay {delay!r} ms is more than the {MAX_ETA_AHEAD_MS // 86_400_000} days taskq "
            "holds a message (delay is in milliseconds)"
        )
    return int(delay)


class ActorDecorator(Protocol):
    """What ``actor(...)`` returns when called with options only: a decorator."""

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Actor[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Actor[P, R]: ...
    def __call__(self, fn: Callable[..., Any]) -> Actor[Any, Any]: ...


@overload
def actor(fn: Callable[P, Awaitable[R]], **kwargs: Any) -> Actor[P, R]: ...
@overload
def actor(fn: Callable[P, R], **kwargs: Any) -> Actor[P, R]: ...
@overload
def actor(fn: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], Actor[P, R]]: ...


def actor(
    fn: Callable[..., Any] | None = None,
    *,
    actor_class: type[Actor[Any, Any]] = Actor,
    actor_name: str | None = None,
    queue_name: str = "default",
    priority: int = 0,
    broker: Broker | None = None,
    **options: Any,
) -> Any:
    """Declare an actor: ``@taskq.actor`` or ``@taskq.actor(queue_name="q", max_retries=3)``.

    ``priority``: lower numbers run first among prefetched messages. ``options`` are validated
    against the broker's middleware (``max_retries``, ``time_limit``, ``store_results``, ...).
    """

    def decorator(fn: Callable[..., Any]) -> Actor[Any, Any]:
        name = actor_name or fn.__name__
        if not ACTOR_NAME_RE.match(name):
            raise ValueError(f"Actor name {name!r} is invalid: use letters, digits, '_', '-', '.'")
        if not isinstance(priority, int):
            raise TypeError(f"priority must be an int, got {type(priority).__name__}")
        return actor_class(
            fn,
            actor_name=name,
            queue_name=queue_name,
            priority=priority,
            broker=broker or get_broker(),
            options=options,
        )

    if fn is None:
        return decorator
    return decorator(fn)
