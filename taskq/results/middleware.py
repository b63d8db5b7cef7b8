"""Results: store what actors return (``store_results=True``) for ``get_result``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..middleware.middleware import Middleware
from .backend import DEFAULT_TTL, ResultBackend

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.results")


class Results(Middleware):
    """Actor options: ``store_results`` (bool) and ``result_ttl`` (ms, default 10 minutes).

    A failed message (retries exhausted) stores its exception, so ``get_result`` raises
    ``ResultFailure`` instead of timing out.
    """

    actor_options = frozenset({"store_results", "result_ttl"})

    def __init__(
        self,
        *,
        backend: ResultBackend | None = None,
        store_results: bool = False,
        result_ttl: int | None = None,
    ) -> None:
        if backend is None:
            from .backends.stub import StubBackend

            backend = StubBackend()
        self.backend = backend
        self.store_results = store_results
        self.result_ttl = result_ttl or DEFAULT_TTL

    def _options(self, broker: Broker, message: MessageProxy) -> tuple[bool, int]:
        actor = broker.get_actor(message.actor_name)
        store = message.options.get(
            "store_results", actor.options.get("store_results", self.store_results)
        )
        ttl = message.options.get("result_ttl", actor.options.get("result_ttl", self.result_ttl))
        return bool(store), int(ttl)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        store, ttl = self._options(broker, message)
        if not store:
            return
        if exception is None:
            self.backend.store_result(message.message, result, ttl)
        elif message.failed:
            self.backend.store_exception(message.message, exception, ttl)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        store, ttl = self._options(broker, message)
        if store and message.failed:
            from ..middleware.middleware import SkipMessage

            self.backend.store_exception(
                message.message, SkipMessage(message.reason or "skipped"), ttl
            )

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        store, ttl = self._options(broker, message)
        if store and not self.backend.has_result(message.message):
            from ..errors import TaskqError

            # The actor's own exception when it raised (as Dramatiq stores it), else the reason.
            exception = message._exception or TaskqError(message.reason or "dead-lettered")
            self.backend.store_exception(message.message, exception, ttl)
