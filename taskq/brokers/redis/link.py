"""What a Redis consumer (and the keeper thread) uses of its broker, in one narrow object.

:class:`RedisLink` holds the client, the Lua scripts, the namespace and this process's worker
id; the settling calls that must survive a lost connection; and this process's record of the
messages its consumers fetched. The broker builds one and hands it to every consumer, so a
consumer never reaches into the broker's private state.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from ...errors import ConnectionClosed

if TYPE_CHECKING:
    from .consumer import RedisConsumer
    from .maintenance import Keeper

logger = logging.getLogger("taskq.brokers.redis")

#: The Redis errors that mean "the server is away", as opposed to a failed command.
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)


class RedisConnectionError(ConnectionClosed, redis.ConnectionError):
    """Redis could not be reached. Catchable as ``taskq.errors.ConnectionClosed`` (the worker
    reconnects on it) and as ``redis.ConnectionError`` (as Dramatiq programs expect)."""


class RedisLink:
    """The broker's client, scripts, namespace and worker id, plus what this process's
    consumers share: pending settlements and fetched ids.

    ``describe`` names the server in errors (with any password masked); ``keeper`` runs
    heartbeats while consumers are open.
    """

    def __init__(
        self,
        *,
        client: redis.Redis,
        scripts: dict[str, Any],
        namespace: str,
        worker_id: str,
        describe: Callable[[], str],
        keeper: Keeper,
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.namespace = namespace
        self.worker_id = worker_id
        self._describe = describe
        self._keeper = keeper
        self._pending: collections.deque[tuple[str, list[Any]]] = collections.deque()
        self._pending_lock = threading.Lock()
        #: Ids fetched by this process's consumers and not yet settled, per queue; and queues
        #: where a fetch failed mid-call (its messages may sit in our acks set, unknown to us).
        self.fetched: dict[str, set[str]] = collections.defaultdict(set)
        self.fetch_in_doubt: set[str] = set()

    # -- consumers ------------------------------------------------------------------------
    def register(self, consumer: RedisConsumer) -> None:
        """A consumer opened: heartbeats run while any is open."""
        self._keeper.register(consumer)

    def unregister(self, consumer: RedisConsumer) -> None:
        """A consumer closed: after the last one, heartbeats stop and the worker retires."""
        self._keeper.unregister(consumer)

    def connection_error(self, error: Exception) -> RedisConnectionError:
        """The error to raise when Redis is away, naming the server."""
        return RedisConnectionError(f"Redis at {self._describe()} unreachable: {error}")

    # -- settlements that must survive a lost connection ----------------------------------
    def settle(self, script: str, args: list[Any]) -> None:
        """Run an ack/nack/requeue script; if Redis is away, keep it and retry on reconnect,
        so processed work is neither lost nor redone."""
        try:
            if self._pending:
                self.resend_pending()
            self.scripts[script](args=args)
        except REDIS_ERRORS as e:
            self.retry_later(script, args, e)

    def retry_later(self, script: str, args: list[Any], error: Exception | None = None) -> None:
        """Keep a settling script call that may not have run, to resend on reconnect."""
        with self._pending_lock:
            first = not self._pending
            self._pending.append((script, args))
        if first:
            logger.warning("Redis unreachable (%s); acks will be retried.", error)

    def has_pending(self) -> bool:
        """Whether settlements wait to be resent."""
        return bool(self._pending)

    def resend_pending(self) -> None:
        """Resend the kept settlements, oldest first (raises if Redis is still away)."""
        with self._pending_lock:
            while self._pending:
                script, args = self._pending[0]
                self.scripts[script](args=args)
                self._pending.popleft()
