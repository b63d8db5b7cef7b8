"""Cancellation: ``taskq.abort(message)`` skips a queued message or interrupts a running one."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from ..constants import DEFAULT_ABORT_TTL
from ..global_broker import get_broker
from ..options import lookup_option
from .middleware import Middleware, MiddlewareError, SkipMessage
from .threading import Interrupt, current_thread_id, raise_thread_exception

if TYPE_CHECKING:
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.abort")

#: Reason recorded on a message skipped because it was aborted before it started.
ABORTED_REASON = "aborted"


class Abort(Interrupt):
    """Raised inside a running actor's thread when its message is aborted."""


class AbortStore(Protocol):
    """Where abort marks live: every ResultBackend is one (``set_abort``/``is_aborted``)."""

    def set_abort(self, message_id: str, ttl: int) -> None: ...

    def is_aborted(self, message_id: str) -> bool: ...


class Abortable(Middleware):
    """Lets :func:`abort` cancel messages. Opt-in: ``broker.add_middleware(Abortable())``.

    Marks live in ``backend`` (default: the broker's results backend). Actors are abortable
    unless declared (or sent) with ``abortable=False``. A queued message that was aborted is
    skipped and acked with the reason ``"aborted"``; a running one gets :class:`Abort` raised
    in its thread by a watcher that checks running messages every ``interval`` ms. An aborted
    message is not retried; with ``store_results`` its result becomes a ``ResultFailure``.
    """

    actor_options = frozenset({"abortable"})

    def __init__(
        self,
        *,
        backend: AbortStore | None = None,
        abortable: bool = True,
        interval: int = 1000,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be a positive number of ms, got {interval!r}")
        self.backend = backend
        self.abortable = abortable
        self.interval = interval
        #: thread id -> (message id, abort store, Abort already raised)
        self.running: dict[int, tuple[str, AbortStore, bool]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def get_backend(self, broker: Broker) -> AbortStore:
        """The store of abort marks: ``backend=`` if given, else the results backend."""
        if self.backend is not None:
            return self.backend
        try:
            return broker.get_results_backend()
        except MiddlewareError:
            raise MiddlewareError(
                "Abortable needs somewhere to keep abort marks: add the Results middleware "
                "or pass Abortable(backend=...) (any results backend)."
            ) from None

    def _is_abortable(self, broker: Broker, message: MessageProxy) -> bool:
        actor = broker.get_actor(message.actor_name)
        return bool(lookup_option("abortable", message.options, actor.options, self.abortable))

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        if not self._is_abortable(broker, message):
            return
        backend = self.get_backend(broker)
        if backend.is_aborted(message.message_id):
            logger.info("Message %s was aborted before it started; skipping it.", message)
            message.reason = ABORTED_REASON
            raise SkipMessage(ABORTED_REASON)
        with self._lock:
            self.running[current_thread_id()] = (message.message_id, backend, False)
        self._ensure_watcher()

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._forget(message)
        if isinstance(exception, Abort):
            logger.info("Message %s was aborted while running.", message)
            message.reason = ABORTED_REASON
            self._store_failure(broker, message)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        self._forget(message)
        if message.reason == ABORTED_REASON:
            self._store_failure(broker, message)

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(self.interval / 1000 + 1)
            self._watcher = None

    def _forget(self, message: MessageProxy) -> None:
        with self._lock:
            entry = self.running.get(current_thread_id())
            if entry is not None and entry[0] == message.message_id:
                del self.running[current_thread_id()]

    def _store_failure(self, broker: Broker, message: MessageProxy) -> None:
        results = broker.get_results_middleware()
        if results is not None:
            store, ttl = results.options_for(broker, message)
            if store:
                results.backend.store_exception(message.message, Abort(ABORTED_REASON), ttl)

    def _ensure_watcher(self) -> None:
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="taskq-abort", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval / 1000):
            with self._lock:
                candidates = [(t, e[0], e[1]) for t, e in self.running.items() if not e[2]]
            for thread_id, message_id, backend in candidates:
                try:
                    aborted = backend.is_aborted(message_id)
                except Exception:
                    logger.warning("Could not check whether %s was aborted.", message_id)
                    continue
                if aborted:
                    self._interrupt(thread_id, message_id, backend)

    def _interrupt(self, thread_id: int, message_id: str, backend: AbortStore) -> None:
        with self._lock:
            entry = self.running.get(thread_id)
            if entry is None or entry[0] != message_id:
                return  # finished meanwhile
            self.running[thread_id] = (message_id, backend, True)
            logger.info("Aborting running message %s.", message_id)
            raise_thread_exception(thread_id, Abort)


def abort(
    message_or_id: Any, *, broker: Broker | None = None, ttl: int = DEFAULT_ABORT_TTL
) -> None:
    """Abort a message (a ``Message``, its proxy, or its id): skipped if it has not started
    yet, interrupted with :class:`Abort` if running. ``ttl`` (ms): how long the mark is kept.

    Needs the :class:`Abortable` middleware on ``broker`` (default: the current broker).
    """

    broker = broker or get_broker()
    middleware = broker.get_middleware(Abortable)
    if not isinstance(middleware, Abortable):
        raise MiddlewareError(
            f"abort() needs the Abortable middleware on {broker!r}: "
            "call broker.add_middleware(Abortable()) before starting workers."
        )
    if isinstance(message_or_id, str):
        message_id = message_or_id
    elif isinstance(getattr(message_or_id, "message_id", None), str):
        message_id = message_or_id.message_id
    else:
        raise TypeError(f"abort() takes a message or a message id, not {message_or_id!r}")
    middleware.get_backend(broker).set_abort(message_id, ttl)
