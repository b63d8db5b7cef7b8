"""The Broker interface, with the names Dramatiq programs import from ``dramatiq.broker``:
Consumer, MessageProxy, DeadLetter, and the one global, the current broker."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from .common import q_name
from .constants import DEFAULT_BROKER_URL  # noqa: F401 - its former home
from .delivery import Consumer, DeadLetter, MessageProxy
from .errors import ActorNotFound
from .events.transport import BrokerEvents, EventStream, LocalEventBus
from .global_broker import _reset_global_broker, get_broker, set_broker  # noqa: F401
from .middleware import default_middleware
from .middleware.bus import HookBus
from .middleware.middleware import Middleware, MiddlewareError, NoResultsBackend, ResultsKeeper

if TYPE_CHECKING:
    from .actor import Actor
    from .message import Message
    from .results.backend import ResultBackend

__all__ = [
    "Broker",
    "BrokerEvents",
    "Consumer",
    "DataStore",
    "DeadLetter",
    "MessageProxy",
    "get_broker",
    "set_broker",
]

logger = logging.getLogger("taskq.broker")

M = TypeVar("M", bound=Middleware)


class MiddlewarePlacementError(MiddlewareError, ValueError, AssertionError):
    """``add_middleware`` got both ``before`` and ``after``, or an anchor the broker lacks
    (a ValueError and an AssertionError too, the types Dramatiq programs expect)."""


class DataStore(NamedTuple):
    """Where a broker keeps its messages (see :meth:`Broker.data_store`), described for the
    parts of taskq that keep their own data beside them, such as the default results."""

    #: ``"sqlite"``: a file at ``path``; ``"redis"``: a server reached through ``client``
    #: (shared, not a copy), the broker's keys under ``namespace``.
    kind: str
    path: str | None = None
    client: Any = None
    namespace: str | None = None


class Broker(HookBus):
    """Base class for brokers: actor and queue registry, middleware bus, enqueue and consume.

    A broker builds its own state first and calls ``super().__init__`` last, so the middleware
    added there meets a complete broker.
    """

    #: The longest time (ms) a worker may hold a delayed message unacked before re-delaying it.
    max_delay_hold: int | None = None
    #: Whether the default results backend (see :mod:`taskq.results.defaults`) is readable by
    #: every process using the broker: its :meth:`data_store` holds results, or the broker
    #: lives in one process (the stub).
    holds_results: bool = False
    #: The logger's name (``taskq.brokers.<name>`` on taskq's brokers).
    logger_name: str | None = None
    #: Message options this kind of broker reads, beyond those of its middleware.
    broker_message_options: frozenset[str] = frozenset()

    def __init__(
        self, middleware: list[Middleware] | None = None, *, events: BrokerEvents | None = None
    ) -> None:
        self.logger = logging.getLogger(self.logger_name or f"taskq.{type(self).__name__}")
        #: Where lifecycle events go (see :meth:`publish_event`).
        self.events: BrokerEvents = LocalEventBus() if events is None else events
        self.actors: dict[str, Actor[..., Any]] = {}
        self.queues: dict[str, Any] = {}
        self.delay_queues: set[str] = set()
        self.actor_options: set[str] = set()
        self.message_options: set[str] = {"eta", "redis_message_id", *self.broker_message_options}
        self.middleware: list[Middleware] = []
        HookBus.__init__(self)
        if middleware is None:
            middleware = [m() for m in default_middleware]
        for m in middleware:
            self.add_middleware(m)

    def add_middleware(
        self,
        middleware: Middleware,
        *,
        before: type[Middleware] | None = None,
        after: type[Middleware] | None = None,
    ) -> None:
        """Add ``middleware``, optionally right before or after a middleware of another type."""
        if before and after:
            raise MiddlewarePlacementError("add_middleware() takes before= or after=, not both")
        # A middleware the broker came with (``is_default``) gives way to one of its kind that
        # the program adds itself, so a Dramatiq program's own Results is the only one.
        self.middleware = [
            m
            for m in self.middleware
            if not (getattr(m, "is_default", False) and isinstance(m, type(middleware)))
        ]
        if any(type(m) is type(middleware) for m in self.middleware):
            self.logger.warning(
                "You're adding a middleware of the same type twice: %s is already on %r.",
                type(middleware).__name__,
                self,
            )
        anchor = before or after
        if anchor is not None:
            positions = [i for i, m in enumerate(self.middleware) if isinstance(m, anchor)]
            if not positions:
                raise MiddlewarePlacementError(
                    f"Cannot add {type(middleware).__name__} next to {anchor.__name__}: "
                    "no such middleware on this broker"
                )
            index = positions[0] if before else positions[-1] + 1
            self.middleware.insert(index, middleware)
        else:
            self.middleware.append(middleware)
        self.actor_options |= set(middleware.actor_options)
        self.message_options |= set(middleware.message_options)
        for actor_name in self.get_declared_actors():
            middleware.after_declare_actor(self, self.actors[actor_name])
        for queue_name in self.get_declared_queues():
            middleware.after_declare_queue(self, queue_name)
        for queue_name in self.get_declared_delay_queues():
            middleware.after_declare_delay_queue(self, queue_name)

    def ensure_middleware(
        self,
        kind: type[M],
        factory: Callable[[], M] | None = None,
        *,
        before: type[Middleware] | None = None,
        after: type[Middleware] | None = None,
    ) -> M:
        """The broker's middleware of ``kind``; when it has none, add ``factory()`` (default:
        ``kind()``), placed as :meth:`add_middleware` places it, and return that."""
        existing = self.get_middleware(kind)
        if existing is not None:
            return existing  # type: ignore[return-value]  # an instance of kind
        middleware = factory() if factory is not None else kind()
        self.add_middleware(middleware, before=before, after=after)
        return middleware

    def get_middleware(self, kind: type[Middleware]) -> Middleware | None:
        """Return the first middleware that is an instance of ``kind``, or None."""
        for middleware in self.middleware:
            if isinstance(middleware, kind):
                return middleware
        return None

    # -- actors and queues ----------------------------------------------------------------
    def declare_actor(self, actor: Actor[..., Any]) -> None:
        """Register ``actor`` and declare its queue."""
        self.emit_before("declare_actor", actor)
        self.declare_queue(actor.queue_name)
        self.actors[actor.actor_name] = actor
        self.emit_after("declare_actor", actor)

    def get_actor(self, actor_name: str) -> Actor[..., Any]:
        """Return the actor called ``actor_name`` or raise :class:`ActorNotFound`."""
        try:
            return self.actors[actor_name]
        except KeyError:
            raise ActorNotFound(f"Actor {actor_name!r} is not declared on this broker") from None

    def get_declared_actors(self) -> set[str]:
        """Names of all declared actors."""
        return set(self.actors)

    def get_declared_queues(self) -> set[str]:
        """Names of all declared queues."""
        return set(self.queues)

    def get_declared_delay_queues(self) -> set[str]:
        """Names of all declared delay queues (empty for brokers with native delays)."""
        return set(self.delay_queues)

    def declare_queue(self, queue_name: str) -> None:  # pragma: no cover - interface
        """Declare ``queue_name`` (and its delay queue where the broker uses one)."""
        raise NotImplementedError

    # -- messages -------------------------------------------------------------------------
    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Enqueue ``message``, ``delay`` milliseconds from now; returns the enqueued message."""
        raise NotImplementedError  # pragma: no cover - interface

    def enqueue_many(
        self, messages: Iterable[Message[Any]], *, delay: int | None = None
    ) -> list[Message[Any]]:
        """Enqueue several messages; brokers override this to send them in one round trip."""
        return [self.enqueue(message, delay=delay) for message in messages]

    def consume(
        self, queue_name: str, prefetch: int = 1, timeout: int = 30000
    ) -> Consumer:  # pragma: no cover - interface
        """Return a consumer for ``queue_name`` that yields up to ``prefetch`` unacked messages."""
        raise NotImplementedError

    def promote(self, consumer: Consumer, message: MessageProxy) -> None:
        """Move a due delayed message to its real queue and ack it from the delay queue.

        Brokers override this to do both atomically.
        """

        target = message.copy(queue_name=q_name(message.queue_name))
        target.options.pop("eta", None)
        self.enqueue(target)
        consumer.ack(message)

    def redelay(self, consumer: Consumer, message: MessageProxy) -> None:
        """Put a held delayed message back on its delay queue with the same eta, then ack it.

        Only brokers that set ``max_delay_hold`` need this.
        """
        raise NotImplementedError  # pragma: no cover - interface

    def flush(self, queue_name: str) -> None:  # pragma: no cover - interface
        """Drop every message in ``queue_name``, its delay queue and its dead letters."""
        raise NotImplementedError

    def flush_all(self) -> None:  # pragma: no cover - interface
        """Flush every declared queue."""
        raise NotImplementedError

    def join(self, queue_name: str, *, timeout: int | None = None) -> None:  # pragma: no cover
        """Wait (``timeout`` ms) until ``queue_name`` and its delay queue are empty and acked."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections held by this broker."""

    # -- inspection (used by the CLI, the TUI and notebooks) ------------------------------
    def queue_stats(self) -> dict[str, dict[str, int]]:  # pragma: no cover - interface
        """Per queue: ``{"ready", "delayed", "in_flight", "dead"}`` counts."""
        raise NotImplementedError

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first."""
        raise NotImplementedError  # pragma: no cover - interface

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move the given dead letters back onto their queue; returns how many moved."""
        raise NotImplementedError  # pragma: no cover - interface

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        raise NotImplementedError  # pragma: no cover - interface

    def search_dead_letters(
        self, queue_name: str, text: str, *, limit: int = 100
    ) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name`` whose message id, payload (actor,
        arguments, options) or reason contains ``text`` (case-insensitive), newest first.

        This default pages through :meth:`dead_letter_messages` with a growing limit; brokers
        that can search where the letters are stored override it.
        """
        needle = text.strip().lower()
        if limit <= 0:
            return []
        page = max(1000, limit)
        while True:
            letters = self.dead_letter_messages(queue_name, limit=page)
            found = [
                letter
                for letter in letters
                if needle in letter.message_id.lower()
                or needle in letter.raw.decode("utf-8", "replace").lower()
                or needle in (letter.reason or "").lower()
            ]
            if len(found) >= limit or len(letters) < page:
                return found[:limit]
            page *= 4

    # -- results (kept by the Results middleware, which sits above the broker) -------------
    def get_results_middleware(self) -> ResultsKeeper | None:
        """The first middleware that keeps results (Results and its subclasses), or None."""
        for middleware in self.middleware:
            if getattr(middleware, "keeps_results", False):
                return middleware  # type: ignore[return-value]  # a ResultsKeeper by its flag
        return None

    def get_results_backend(self) -> ResultBackend:
        """The results backend of this broker's Results middleware."""
        results = self.get_results_middleware()
        if results is None:
            raise NoResultsBackend("The Results middleware is not set up on this broker.")
        return results.backend

    def data_store(self) -> DataStore | None:
        """Where this broker keeps its messages, for the parts of taskq that keep their data
        beside them (the default results backend); None for brokers with no such store."""
        return None

    # -- lifecycle events (published by the Events middleware, read by taskq.events) ---------
    def publish_event(self, event: dict[str, Any]) -> None:
        """Publish one lifecycle event. Fire-and-forget: never blocks for long, never raises.

        An event is a small JSON-able dict: ``event`` (enqueued, started, succeeded, failed,
        retried, dead_lettered, skipped), ``message_id``, ``queue_name``, ``actor_name``,
        ``timestamp`` (ms), ``worker`` (host:pid) and event-specific extras.
        """
        self.events.publish(event)

    def publish_events(self, events: list[dict[str, Any]]) -> None:
        """Publish several events, in order; brokers that can send them in one round trip do.
        Fire-and-forget, like :meth:`publish_event`."""
        for event in events:
            self.publish_event(event)

    def subscribe_events(self, *, timeout: int = 1000) -> EventStream:
        """A live stream of events published from now on; ``next()`` waits up to ``timeout`` ms
        and yields None when nothing arrived."""
        return self.events.subscribe(timeout)

    def recent_events(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to ``limit`` most recent events, oldest first, where the broker keeps history."""
        return self.events.recent(limit)

    def worker_heartbeats(self) -> list[dict[str, Any]]:
        """Live workers known to the broker: dicts with ``worker_id``, ``last_seen`` (ms), ..."""
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
