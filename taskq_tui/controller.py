"""Every broker call the TUI makes, in one typed object. Methods block: call them from thread
workers, never from the event loop."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import taskq
from taskq.broker import Broker, DeadLetter
from taskq.events.transport import EventStream
from taskq.message import Message
from taskq.middleware.abort import Abortable
from taskq.results import Results
from taskq.results.backends import StubBackend
from taskq.results.errors import ResultFailure, ResultMissing
from taskq.supervisor.modules import add_import_paths

from .broker_link import BrokerDown, BrokerLink
from .config import TuiConfig
from .demo_feed import DEMO_MODULE
from .screens.enqueue import EnqueueRequest

T = TypeVar("T")

#: Why abort is off and what turns it on (shown in the footer's tooltip and when `a` is pressed).
ABORT_OFF = (
    "Abort is off: the actors' broker has no Abortable middleware, so workers would never see "
    "the abort. Turn it on in the module with your actors: "
    "broker.add_middleware(taskq.middleware.abort.Abortable()), then start `taskq tui MODULE` "
    "(and restart the workers)."
)
ABORT_NO_MODULE = (
    "Abort is off: no MODULE was given, so the TUI cannot tell whether your workers load the "
    "Abortable middleware. Start `taskq tui MODULE` with a module whose broker has "
    "broker.add_middleware(taskq.middleware.abort.Abortable())."
)


def abort_unavailable(broker: Broker, abortable: Any) -> str:
    """Why abort cannot work with the actors' ``broker`` and its ``abortable`` middleware (None
    when absent), and what fixes it; "" when it can."""
    if abortable is None:
        return ABORT_OFF
    try:
        store = abortable.get_backend(broker)
    except Exception as e:  # no Results middleware and no backend= (RabbitMQ, the stub broker)
        return f"Abort is off: {e}"
    if isinstance(store, StubBackend):
        return (
            "Abort is off: the abort marks would live in this process's memory (StubBackend), "
            "where workers never look. Give Abortable(backend=...) or Results a shared backend "
            "(Redis, Memcached, SQLite), or set TASKQ_RESULTS_URL."
        )
    return ""


@dataclass
class ModulesLoaded:
    """What importing the MODULE arguments found."""

    actors: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    abort_available: bool = False
    abort_reason: str = ABORT_NO_MODULE


class BrokerController:
    """The TUI's broker actions. ``link`` owns the TUI's connection; after
    :meth:`load_modules`, the actors' own broker (when a module set one up with
    ``taskq.set_broker``) is used for results and abort marks."""

    def __init__(self, link: BrokerLink, config: TuiConfig) -> None:
        self.link = link
        self.config = config
        #: The broker the modules set up for themselves, when it is not the TUI's own.
        self.module_broker: Broker | None = None
        #: The broker the actors were declared on (the module's, or the TUI's).
        self.actors_broker: Broker | None = None

    def call(self, fn: Callable[[Broker], T]) -> T:
        """Run ``fn`` on the TUI's broker (raises BrokerDown when it is unreachable)."""
        return self.link.call(fn)

    def call_with_middleware(self, kind: type[Any], fn: Callable[[Broker], T]) -> T:
        """Run ``fn`` on the actors' own broker when it has middleware ``kind`` (their results
        backend, their abort marks), else on the TUI's broker."""
        module_broker = self.module_broker
        if module_broker is not None and module_broker.get_middleware(kind) is not None:
            return fn(module_broker)
        return self.link.call(fn)

    # -- modules ------------------------------------------------------------------------------
    def load_modules(self) -> ModulesLoaded:
        """Import the MODULE arguments, as ``taskq worker`` does (the working folder first on
        the import path), to learn their actors and whether their broker can abort."""

        loaded = ModulesLoaded()
        modules = list(self.config.modules)
        if self.config.demo:
            modules.append(DEMO_MODULE)
        if not modules:
            return loaded
        add_import_paths([self.config.worker_cwd or "."])
        broker = self.link.broker()
        taskq.set_broker(broker)  # modules that do not set up a broker declare actors on ours
        for name in modules:
            try:
                importlib.import_module(name.split(":", 1)[0])
            except Exception as e:
                loaded.errors.append(f"import {name} failed: {type(e).__name__}: {e}")
        actors_broker = taskq.get_broker()
        for actor_name in actors_broker.get_declared_actors():
            loaded.actors[actor_name] = actors_broker.get_actor(actor_name).queue_name
        self.actors_broker = actors_broker
        if actors_broker is not broker:
            self.module_broker = actors_broker
        loaded.abort_reason = abort_unavailable(
            actors_broker, actors_broker.get_middleware(Abortable)
        )
        loaded.abort_available = not loaded.abort_reason
        return loaded

    # -- polling and events -----------------------------------------------------------------
    def poll(self) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        """Queue depths and worker heartbeats (also the connection's health check)."""
        stats = self.link.call(lambda b: b.queue_stats())
        beats = self.link.call(lambda b: b.worker_heartbeats())
        return stats, beats

    def recent_events(self) -> list[dict[str, Any]]:
        """The events the broker keeps (so history survives a TUI restart), oldest first."""
        limit = self.config.history_limit
        return self.link.call(lambda b: b.recent_events(limit=limit))

    def subscribe(self, timeout_ms: int = 250) -> EventStream:
        """Live events from now on; ``next()`` gives None after ``timeout_ms`` of quiet."""
        return self.link.call(lambda b: b.subscribe_events(timeout=timeout_ms))

    # -- actions ------------------------------------------------------------------------------
    def enqueue(self, request: EnqueueRequest) -> Message[Any]:
        """Enqueue one message by actor name (the actor's code is not needed)."""
        message: Message[Any] = Message(
            queue_name=request.queue_name,
            actor_name=request.actor_name,
            args=tuple(request.args),
            kwargs=request.kwargs,
            options={},
        )

        def send(broker: Broker) -> Message[Any]:
            broker.declare_queue(request.queue_name)
            return broker.enqueue(message, delay=request.delay_ms)

        return self.link.call(send)

    def enqueue_action(self, request: EnqueueRequest) -> Callable[[], str]:
        """A callable that enqueues ``request`` and says what it sent."""

        def enqueue() -> str:
            sent = self.enqueue(request)
            return f"Enqueued {sent} as {sent.message_id[:8]} on {request.queue_name}"

        return enqueue

    def requeue_action(self, queue_name: str, message_ids: list[str]) -> Callable[[], str]:
        """A callable that requeues dead letters and says how many."""
        return lambda: (
            f"Requeued {self.requeue(queue_name, message_ids)} message(s) on {queue_name}"
        )

    def purge_action(self, queue_name: str) -> Callable[[], str]:
        """A callable that purges the dead letters of ``queue_name`` and says how many."""
        return lambda: f"Purged {self.purge(queue_name)} dead letter(s) of {queue_name}"

    def abort_action(self, message_id: str) -> Callable[[], str]:
        """A callable that aborts ``message_id`` and says so."""

        def abort() -> str:
            self.abort(message_id)
            return f"Abort requested for {message_id[:8]}"

        return abort

    def requeue(self, queue_name: str, message_ids: list[str]) -> int:
        """Move dead letters back onto their queue; returns how many moved."""
        return int(self.link.call(lambda b: b.requeue_dead_letters(queue_name, message_ids)))

    def purge(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many."""
        return int(self.link.call(lambda b: b.purge_dead_letters(queue_name)))

    def abort(self, message_id: str) -> None:
        """Mark ``message_id`` aborted on the actors' broker (it must have Abortable)."""

        self.call_with_middleware(Abortable, lambda b: taskq.abort(message_id, broker=b))

    def dead_letters(self, queue_name: str, search: str, limit: int) -> list[DeadLetter]:
        """The newest dead letters of ``queue_name`` (matching ``search`` when given)."""
        if search:
            return self.link.call(lambda b: b.search_dead_letters(queue_name, search, limit=limit))
        return self.link.call(lambda b: b.dead_letter_messages(queue_name, limit=limit))

    def stored_result(self, queue_name: str, actor_name: str, message_id: str) -> str:
        """The message's stored result as text, or why there is none."""

        message: Message[Any] = Message(queue_name, actor_name, message_id=message_id)
        try:
            backend = self.call_with_middleware(Results, lambda b: b.get_results_backend())
            return repr(backend.get_result(message, block=False))
        except ResultMissing:
            return "(not stored)"
        except ResultFailure as e:
            return f"(failure stored: {e})"
        except BrokerDown as e:
            return f"(unavailable: {e})"
        except Exception as e:
            return f"(unavailable: {type(e).__name__}: {e})"

    def send_demo(self, message: Message[Any], delay: int | None) -> None:
        """Enqueue one demo message."""

        def send(broker: Broker) -> None:
            broker.declare_queue(message.queue_name)
            broker.enqueue(message, delay=delay)

        self.link.call(send)
