"""Results with no configuration: the middleware a broker taskq builds comes with.

A broker from ``get_broker()`` or a URL stores results where it keeps its messages (the SQLite
file, the Redis server) or where ``TASKQ_RESULTS_URL`` says, so ``store_results=True`` works
out of the box. A program that adds its own :class:`Results` replaces this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..middleware.middleware import MiddlewareError
from ..options import lookup_option
from .errors import ResultError, ResultMissing
from .middleware import Results
from .urls import RESULTS_URL_ENV, backend_from_environment

if TYPE_CHECKING:
    from ..broker import Broker
    from ..message import Message

__all__ = ["DefaultResults", "ResultsNotConfigured", "ResultsNotStored", "check_stores_results"]


class ResultsNotConfigured(ResultError, MiddlewareError, RuntimeError):
    """An actor stores results but its broker has nowhere every process can read them.

    Raised from ``before_enqueue``; a :class:`MiddlewareError`, so it stops the send."""


class ResultsNotStored(ResultMissing):
    """``get_result`` on a message whose actor does not store results: it would never come,
    so this is raised at once, even when blocking."""


class DefaultResults(Results):
    """The :class:`Results` a broker built by taskq starts with."""

    #: Broker.add_middleware drops this middleware when a program adds its own Results.
    is_default = True

    @classmethod
    def for_broker(cls, broker: Broker) -> DefaultResults:
        """Results stored where ``TASKQ_RESULTS_URL`` says, else beside the broker's messages."""
        backend = backend_from_environment()
        if backend is not None:
            return cls(backend=backend)
        if broker.holds_results:
            return cls(backend=broker.default_results_backend())
        return UnconfiguredResults(
            reason=(
                f"{type(broker).__name__} keeps no results. Set {RESULTS_URL_ENV} (for example "
                f"{RESULTS_URL_ENV}=redis://127.0.0.1:6379/0) in every process, or add a "
                "Results middleware with a backend all processes share."
            )
        )


class UnconfiguredResults(DefaultResults):
    """The default Results of a broker that keeps no results (RabbitMQ without
    ``TASKQ_RESULTS_URL``): sending to an actor that stores results fails at once, naming the
    setting, instead of storing results only this process could read."""

    def __init__(self, *, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        actor = broker.actors.get(message.actor_name)
        actor_options = actor.options if actor is not None else None
        if lookup_option("store_results", message.options, actor_options, unset="none"):
            raise ResultsNotConfigured(
                f"Actor {message.actor_name!r} stores results, but {self.reason}"
            )


def check_stores_results(broker: Broker, message: Message[Any]) -> None:
    """Raise :class:`ResultsNotStored` when ``message``'s actor is declared on ``broker`` and
    stores no results, so ``get_result`` fails at once instead of waiting out its timeout."""
    results = broker.get_middleware(Results)
    actor = broker.actors.get(message.actor_name)
    if not isinstance(results, Results) or actor is None:
        return
    store = lookup_option("store_results", message.options, actor.options)
    if store is None:
        store = results.store_results
    if not store:
        raise ResultsNotStored(
            f"Actor {message.actor_name!r} does not store results, so no result will ever "
            "arrive: declare it with @taskq.actor(store_results=True)."
        )
