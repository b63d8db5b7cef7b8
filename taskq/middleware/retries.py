"""Retries: re-enqueue failed messages with exponential backoff, then dead-letter them."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..common import compute_backoff, current_millis
from ..errors import Retry
from ..options import lookup_option
from .abort import Abort
from .middleware import Middleware

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker, MessageProxy

logger = logging.getLogger("taskq.middleware.retries")

DEFAULT_MAX_RETRIES = 20
DEFAULT_MIN_BACKOFF = 15_000
DEFAULT_MAX_BACKOFF = 604_800_000  # 7 days


class Retries(Middleware):
    """Retry failed messages with exponential backoff, then dead-letter them.

    Options (on the actor, or per message where they are plain values): ``max_retries``,
    ``min_backoff`` and ``max_backoff`` (ms), ``retry_when(retries, exception) -> bool``
    (overrides ``max_retries``), ``throws`` (exception types that are never retried, logged at
    info level as expected) and ``on_retry_exhausted`` (the name of an actor sent
    ``(message.asdict(), {"retries": n, "max_retries": m})`` when a message runs out of
    retries). Raising :class:`taskq.errors.Retry` retries without logging an error; its
    ``delay`` (ms) replaces the backoff."""

    actor_options = frozenset(
        {"max_retries", "min_backoff", "max_backoff", "retry_when", "throws", "on_retry_exhausted"}
    )
    message_options = frozenset({"retries", "traceback", "requeue_timestamp", "requeue_timestamps"})

    def __init__(
        self,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        min_backoff: int | None = None,
        max_backoff: int | None = None,
        retry_when: Callable[[int, BaseException], bool] | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.min_backoff = min_backoff or DEFAULT_MIN_BACKOFF
        self.max_backoff = max_backoff or DEFAULT_MAX_BACKOFF
        self.retry_when = retry_when

    def quiet_for(self, actor: Actor[..., Any]) -> bool:
        """Always: only a failure concerns Retries."""
        return True

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return

        if isinstance(exception, Abort):
            return  # cancelled on purpose: neither retried nor dead-lettered
        actor = broker.get_actor(message.actor_name)
        option = self._option(actor.options, message.options)
        throws = option("throws", ())
        if throws and isinstance(exception, throws):
            logger.info("Aborting message %r.", message.message_id)
            message.fail(f"{type(exception).__name__}: {exception}")
            return

        # "retries" counts failed attempts, the last one included (as in Dramatiq).
        retries = message.options.setdefault("retries", 0)
        message.options["retries"] = retries + 1
        max_retries = option("max_retries", self.max_retries)
        retry_when = option("retry_when", self.retry_when)
        should_retry = (
            retry_when(retries, exception)
            if retry_when is not None
            else max_retries is None or retries < max_retries
        )
        message.options["traceback"] = "".join(
            traceback.format_exception(type(exception), exception, exception.__traceback__)
        )[-4096:]
        if not should_retry:
            logger.warning("Retries exceeded for message %r.", message.message_id)
            message.fail(
                f"retries exhausted after {retries}: {type(exception).__name__}: {exception}"
            )
            target = option("on_retry_exhausted", None)
            if target:
                target_name = getattr(target, "actor_name", target)
                broker.get_actor(target_name).send(
                    message.message.asdict(), {"retries": retries, "max_retries": max_retries}
                )
            return

        message.options["requeue_timestamp"] = current_millis()
        if isinstance(exception, Retry) and exception.delay is not None:
            backoff = exception.delay
        else:
            min_backoff = option("min_backoff", self.min_backoff)
            max_backoff = option("max_backoff", self.max_backoff)
            _, backoff = compute_backoff(retries, factor=min_backoff, max_backoff=max_backoff)
        logger.info("Retrying message %r in %d milliseconds.", message.message_id, backoff)
        retry = message.message.copy(options=dict(message.options))
        broker.enqueue(retry, delay=backoff)
        message.clear_exception()

    @staticmethod
    def _option(
        actor_options: dict[str, Any], message_options: dict[str, Any]
    ) -> Callable[..., Any]:
        def lookup(name: str, default: Any) -> Any:
            return lookup_option(name, message_options, actor_options, default)

        return lookup
