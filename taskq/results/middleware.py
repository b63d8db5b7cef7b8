"""Results: store what actors return (``store_results=True``) for ``get_result``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import ActorNotFound, TaskqError
from ..middleware.middleware import Middleware, SkipMessage
from ..options import lookup_option
from .backend import DEFAULT_TTL, ResultBackend
from .backends.stub import StubBackend
from .errors import ResultsNotStored

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy
    from ..message import Message

logger = logging.getLogger("taskq.results")

#: How long results are kept unless an actor says otherwise (ms): 10 minutes.
DEFAULT_RESULT_TTL = DEFAULT_TTL


class Results(Middleware):
    """Actor options: ``store_results`` (bool) and ``result_ttl`` (ms, default 10 minutes).

    A failed message (retries exhausted) stores its exception, so ``get_result`` raises
    ``ResultFailure`` instead of timing out; a message skipped by middleware without failing
    stores None. An actor that returns a value it does not store gets a warning (once per
    actor), unless the value is piped to another actor.
    """

    actor_options = frozenset({"store_results", "result_ttl"})
    #: How the layers below ``taskq.results`` recognise this middleware (see
    #: :class:`~taskq.middleware.middleware.ResultsKeeper`).
    keeps_results = True

    def __init__(
        self,
        *,
        backend: ResultBackend | None = None,
        store_results: bool = False,
        result_ttl: int | None = None,
    ) -> None:
        if backend is None:
            backend = StubBackend()
        self.logger = logger
        self.backend = backend
        self.store_results = store_results
        self.result_ttl = result_ttl or DEFAULT_RESULT_TTL
        self._warned: set[str] = set()

    def options_for(self, broker: Broker, message: MessageProxy) -> tuple[bool, int]:
        """``(store_results, result_ttl)`` for the message; nothing stored for an actor this
        broker does not know."""
        try:
            actor = broker.get_actor(message.actor_name)
        except ActorNotFound:
            return False, 0
        store = lookup_option("store_results", message.options, actor.options, self.store_results)
        ttl = lookup_option("result_ttl", message.options, actor.options, self.result_ttl)
        return bool(store), int(ttl)

    def check_stores_results(self, broker: Broker, message: Message[Any]) -> None:
        """Raise :class:`ResultsNotStored` when ``message``'s actor is declared on ``broker`` and
        stores no results, so ``get_result`` fails at once instead of waiting out its timeout."""
        actor = broker.actors.get(message.actor_name)
        if actor is None:
            return
        store = lookup_option("store_results", message.options, actor.options)
        if store is None:
            store = self.store_results
        if not store:
            raise ResultsNotStored(
                f"Actor {message.actor_name!r} does not store results, so no result will ever "
                "arrive: declare it with @taskq.actor(store_results=True)."
            )

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        store, ttl = self.options_for(broker, message)
        if not store:
            if result is not None and message.options.get("pipe_target") is None:
                self._warn_discarded(message.actor_name)
            return
        if exception is None:
            self.backend.store_result(message, result, ttl)
        elif message.failed:
            self.backend.store_exception(message, exception, ttl)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        store, ttl = self.options_for(broker, message)
        if not store:
            return
        if not message.failed:
            # Skipped on purpose: the result is None, unless middleware that skipped it stored
            # why (an aborted message stores its Abort).
            if not self.backend.has_result(message):
                self.backend.store_result(message, None, ttl)
            return
        exception = message._exception or SkipMessage(message.reason or "skipped")
        self.backend.store_exception(message, exception, ttl)

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        store, ttl = self.options_for(broker, message)
        if store and not self.backend.has_result(message):
            # The actor's own exception when it raised (as Dramatiq stores it), else the reason.
            exception = message._exception or TaskqError(message.reason or "dead-lettered")
            self.backend.store_exception(message, exception, ttl)

    def _warn_discarded(self, actor_name: str) -> None:
        if actor_name in self._warned:
            return
        self._warned.add(actor_name)
        self.logger.warning(
            "Actor %r returned a value, but it does not store results (declare it with "
            "store_results=True to keep them), so the value has been discarded.",
            actor_name,
        )
