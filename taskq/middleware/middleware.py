"""The middleware hook bus. Every optional behaviour of taskq is a Middleware subclass."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy
    from ..message import Message
    from ..results.backend import ResultBackend
    from ..worker import Worker


class MiddlewareError(Exception):
    """Base class for middleware errors."""


class SkipMessage(MiddlewareError):
    """Raise in ``before_process_message`` to skip a message; it is acked, not run."""


class NoResultsBackend(MiddlewareError, RuntimeError):
    """The broker has no Results middleware, so there is no backend to read results from (a
    RuntimeError, as Dramatiq raises when its broker has no results backend)."""


class ResultsKeeper(Protocol):
    """The Results middleware as the layers below :mod:`taskq.results` use it.

    :meth:`~taskq.broker.Broker.get_results_middleware` finds it by its ``keeps_results``
    flag, so that the broker, the worker and other middleware need not import
    ``taskq.results`` (which sits above them).
    """

    keeps_results: bool
    backend: ResultBackend

    def options_for(self, broker: Broker, message: MessageProxy) -> tuple[bool, int]:
        """``(store_results, result_ttl)`` for ``message``."""
        ...

    def check_stores_results(self, broker: Broker, message: Message[Any]) -> None:
        """Raise ``ResultsNotStored`` when ``message``'s actor is declared on ``broker`` and
        stores no results (``get_result`` would wait in vain)."""
        ...


class Middleware:
    """Base class for middleware: override the hooks you need; all default to no-ops.

    ``actor_options`` names the options an actor may be declared with (``@actor(max_retries=3)``);
    ``message_options`` names extra per-message options this middleware writes or reads.
    An option that no middleware declares is rejected with a clear error.
    """

    actor_options: frozenset[str] = frozenset()
    message_options: frozenset[str] = frozenset()
    #: Message options that make this middleware act on a message even where
    #: :meth:`quiet_for` says its actor's messages need nothing from it.
    woken_by: frozenset[str] = frozenset()

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """True when ``before_process_message``, and ``after_process_message`` after a
        success, do nothing for a message of ``actor`` that sets none of :attr:`woken_by`.

        Workers then skip those two calls (see :mod:`taskq.middleware.plan`); a failure or a
        skip still calls every hook. The default, False, never skips anything.
        """
        return False

    @property
    def forks(self) -> list[Callable[[], int]]:
        """Functions the worker CLI runs in extra forked processes (e.g. a metrics server)."""
        return []

    def before_ack(self, broker: Broker, message: MessageProxy) -> None:
        """Called before a message is acknowledged."""

    def after_ack(self, broker: Broker, message: MessageProxy) -> None:
        """Called after a message is acknowledged."""

    def before_nack(self, broker: Broker, message: MessageProxy) -> None:
        """Called before a message is dead-lettered."""

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        """Called after a message is dead-lettered."""

    def before_declare_actor(self, broker: Broker, actor: Actor[..., Any]) -> None:
        """Called before an actor is declared."""

    def after_declare_actor(self, broker: Broker, actor: Actor[..., Any]) -> None:
        """Called after an actor is declared."""

    def before_declare_queue(self, broker: Broker, queue_name: str) -> None:
        """Called before a queue is declared."""

    def after_declare_queue(self, broker: Broker, queue_name: str) -> None:
        """Called after a queue is declared."""

    def after_declare_delay_queue(self, broker: Broker, queue_name: str) -> None:
        """Called after a delay queue is declared."""

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        """Called before a message is enqueued."""

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        """Called after a message is enqueued."""

    def before_delay_message(self, broker: Broker, message: MessageProxy) -> None:
        """Called before a delayed message is held by the worker until its eta."""

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        """Called in the worker thread before the actor runs. Raise SkipMessage to skip it."""

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        """Called in the worker thread after the actor ran (or raised)."""

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        """Called instead of ``after_process_message`` when a message was skipped."""

    def after_process_boot(self, broker: Broker) -> None:
        """Called once a worker process has imported the user's modules."""

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        """Called before the worker starts its threads."""

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        """Called after the worker started its threads."""

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Called when the worker begins shutting down."""

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Called when the worker has stopped."""

    def after_consumer_thread_boot(self, broker: Broker, thread: Any) -> None:
        """Called in a consumer thread after it starts."""

    def before_consumer_thread_shutdown(self, broker: Broker, thread: Any) -> None:
        """Called in a consumer thread before it stops."""

    def after_worker_thread_boot(self, broker: Broker, thread: Any) -> None:
        """Called in a worker thread after it starts."""

    def before_worker_thread_shutdown(self, broker: Broker, thread: Any) -> None:
        """Called in a worker thread before it stops."""
