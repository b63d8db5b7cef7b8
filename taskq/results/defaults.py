"""Results with no configuration: the middleware a broker taskq builds comes with, and the
backend every process using a broker should share.

A broker from ``get_broker()`` or a URL stores results where it keeps its messages (the SQLite
file, the Redis server) or where ``TASKQ_RESULTS_URL`` says, so ``store_results=True`` works
out of the box. A program that adds its own :class:`Results` replaces this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..middleware.middleware import MiddlewareError
from ..options import lookup_option
from .backends.stub import StubBackend
from .errors import ResultError, ResultsNotStored
from .middleware import Results
from .urls import RESULTS_URL_ENV, backend_from_environment

if TYPE_CHECKING:
    from ..broker import Broker
    from ..message import Message
    from .backend import ResultBackend

__all__ = [
    "DefaultResults",
    "ResultsNotConfigured",
    "ResultsNotStored",
    "backend_in_store",
    "default_results_backend",
]


def default_results_backend(broker: Broker) -> ResultBackend:
    """The result backend every process using ``broker`` should share: the one
    ``TASKQ_RESULTS_URL`` names, else :func:`backend_in_store`."""
    return backend_from_environment() or backend_in_store(broker)


def backend_in_store(broker: Broker) -> ResultBackend:
    """Results kept where ``broker`` keeps its messages (:meth:`~taskq.broker.Broker.data_store`):
    the SQLite file, or the Redis server through the broker's client under
    ``"{namespace}-results"``; for brokers with no such store (RabbitMQ, the stub), an
    in-memory backend that only this process sees."""
    store = broker.data_store()
    if store is None:
        return StubBackend()
    if store.kind == "sqlite" and store.path is not None:
        from .backends.sqlite import SQLiteBackend  # it loads the SQLite broker's package

        return SQLiteBackend(path=store.path)
    if store.kind == "redis":
        from .backends.redis import RedisBackend  # needs the optional redis client

        return RedisBackend(client=store.client, namespace=f"{store.namespace}-results")
    raise ValueError(
        f"{type(broker).__name__} keeps its data in a {store.kind!r} store, which "
        "taskq.results cannot keep results in"
    )


class ResultsNotConfigured(ResultError, MiddlewareError, RuntimeError):
    """An actor stores results but its broker has nowhere every process can read them.

    Raised from ``before_enqueue``; a :class:`MiddlewareError`, so it stops the send."""


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
            return cls(backend=backend_in_store(broker))
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
