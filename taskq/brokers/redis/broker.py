"""The Redis broker: Dramatiq's keys and wire format, with atomic Lua scripts for every
state change, wake-ups instead of polling, and deterministic recovery of dead workers."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

try:
    import redis
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("RedisBroker needs the redis client: pip install 'taskq[redis]'") from e

from ...broker import Broker, Consumer, DataStore, MessageProxy
from ...common import (
    current_millis,
    dq_name,
    generate_unique_id,
    generate_unique_ids,
    mask_url,
    q_name,
    validate_queue_name,
)
from ...errors import QueueJoinTimeout
from ...message import Message
from ...middleware.middleware import Middleware
from ..admin_delegation import StoreAdminDelegation
from .admin import RedisAdmin
from .consumer import RedisConsumer, redis_id
from .events import RedisEvents
from .link import REDIS_ERRORS, RedisConnectionError, RedisLink
from .maintenance import Keeper
from .scripts import connection_stash, register_scripts

#: How long (ms) dead letters are kept.
DEFAULT_DEAD_MESSAGE_TTL = 86_400_000 * 7
#: How long (ms) without a heartbeat before a worker counts as dead.
DEFAULT_HEARTBEAT_TIMEOUT = 60_000
#: Messages per Lua call in ``enqueue_many`` (calls are pipelined).
ENQUEUE_BATCH = 500
#: Dramatiq's scale and default for ``maintenance_chance`` (a chance per million commands).
#: taskq accepts the option and runs maintenance on a timer instead (``requeue_interval``).
MAINTENANCE_SCALE = 1_000_000
DEFAULT_MAINTENANCE_CHANCE = 1_000


class RedisBroker(StoreAdminDelegation, Broker):
    """A broker on Redis, wire-compatible with Dramatiq's ``RedisBroker``.

    >>> RedisBroker(url="redis://127.0.0.1:6379/0", namespace="dramatiq")

    Parameters:
      url: a ``redis://`` or ``rediss://`` URL; ``connection_parameters`` are added to it.
      namespace: prefix of every key; brokers in different namespaces never see each other's
        messages, results, heartbeats or dead letters. Use ``"dramatiq"`` to share a Dramatiq
        fleet's queues.
      heartbeat_timeout: ms without a heartbeat after which a worker counts as dead and its
        unacked messages are requeued.
      dead_letter_ttl: ms dead letters are kept (``dead_message_ttl``, Dramatiq's name for it,
        is accepted too).
      requeue_deadline: ms after a worker's last heartbeat by which its messages must be
        requeued; sets ``requeue_interval`` to ``requeue_deadline - heartbeat_timeout``.
      requeue_interval: ms between maintenance runs (dead-worker recovery, dead-letter expiry);
        default ``min(heartbeat_timeout / 4, 5000)``. Recovery happens within
        ``heartbeat_timeout + requeue_interval`` of the last heartbeat.
      client: a ``redis.Redis`` to use instead of creating one (it is not closed by ``close``).
      maintenance_chance: accepted for Dramatiq compatibility and ignored: maintenance runs on
        a timer, not by chance.
      **connection_parameters: passed to ``redis.Redis``.
    """

    holds_results = True
    logger_name = "taskq.brokers.redis"
    events: RedisEvents

    def __init__(
        self,
        *,
        url: str | None = None,
        namespace: str = "taskq",
        middleware: list[Middleware] | None = None,
        heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT,
        dead_message_ttl: int | None = None,
        requeue_deadline: int | None = None,
        requeue_interval: int | None = None,
        client: redis.Redis | None = None,
        maintenance_chance: int | None = None,
        dead_letter_ttl: int | None = None,
        **connection_parameters: Any,
    ) -> None:
        if dead_letter_ttl is None:
            dead_letter_ttl = (
                DEFAULT_DEAD_MESSAGE_TTL if dead_message_ttl is None else dead_message_ttl
            )
        elif dead_message_ttl is not None and dead_message_ttl != dead_letter_ttl:
            raise ValueError(
                "RedisBroker: dead_letter_ttl and dead_message_ttl name the same setting; "
                f"got {dead_letter_ttl!r} and {dead_message_ttl!r}"
            )
        for name, value in (
            ("heartbeat_timeout", heartbeat_timeout),
            ("dead_letter_ttl", dead_letter_ttl),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"RedisBroker: {name} must be a positive number of ms, got {value!r}"
                )
        if not namespace or not isinstance(namespace, str):
            raise ValueError(
                f"RedisBroker: namespace must be a non-empty string, got {namespace!r}"
            )
        self.url = url
        self.namespace = namespace
        self.heartbeat_timeout = heartbeat_timeout
        self.dead_letter_ttl = dead_letter_ttl
        self.heartbeat_interval = max(20, min(heartbeat_timeout // 4, 5000))
        self.requeue_interval = self._requeue_interval(requeue_deadline, requeue_interval)
        #: Identifies this process's consumers in ``__acks__`` and ``__heartbeats__`` keys.
        self.worker_id = generate_unique_id()
        #: Dramatiq's name for the worker id; a plain attribute, as programs may set it.
        self.broker_id = self.worker_id
        self._owns_client = client is None
        if client is None:
            if url:
                client = redis.Redis.from_url(url, **connection_parameters)
            else:
                client = redis.Redis(**connection_parameters)
        self.client = client
        self._stash = connection_stash(client)
        self.scripts = register_scripts(client, self._stash)
        self._keeper = Keeper(self)
        #: What consumers use of this broker (see :class:`~taskq.brokers.redis.link.RedisLink`).
        self.link = RedisLink(
            client=client,
            scripts=self.scripts,
            namespace=namespace,
            worker_id=self.worker_id,
            describe=self._where,
            keeper=self._keeper,
        )
        #: Inspection: queue stats, dead letters, heartbeats (the methods below delegate).
        self.admin = RedisAdmin(self)
        super().__init__(middleware=middleware, events=RedisEvents(client, namespace))

    @property
    def dead_message_ttl(self) -> int:
        """Dramatiq's name for :attr:`dead_letter_ttl` (ms dead letters are kept)."""
        return self.dead_letter_ttl

    @dead_message_ttl.setter
    def dead_message_ttl(self, value: int) -> None:
        self.dead_letter_ttl = value

    def _requeue_interval(self, deadline: int | None, interval: int | None) -> int:
        if interval is not None:
            if interval <= 0:
                raise ValueError(f"RedisBroker: requeue_interval must be positive, got {interval}")
            return interval
        if deadline is not None:
            if deadline <= self.heartbeat_timeout:
                raise ValueError(
                    f"RedisBroker: requeue_deadline ({deadline} ms) must exceed "
                    f"heartbeat_timeout ({self.heartbeat_timeout} ms)"
                )
            return deadline - self.heartbeat_timeout
        return max(20, min(self.heartbeat_timeout // 4, 5000))

    # -- declaration ----------------------------------------------------------------------
    def declare_queue(self, queue_name: str) -> None:
        """Declare ``queue_name`` and its delay queue (Redis needs no setup for either)."""
        if queue_name in self.queues:
            return
        validate_queue_name(queue_name)
        self.emit_before("declare_queue", queue_name)
        self.queues[queue_name] = None
        self.emit_after("declare_queue", queue_name)
        delayed = dq_name(queue_name)
        self.delay_queues.add(delayed)
        self.emit_after("declare_delay_queue", delayed)

    # -- producing ------------------------------------------------------------------------
    def _prepare(self, message: Message[Any], delay: int | None, redis_id: str) -> Message[Any]:
        options = dict(message.options)
        options["redis_message_id"] = redis_id
        queue_name = message.queue_name
        if delay:
            options["eta"] = current_millis() + delay
            queue_name = dq_name(queue_name)
        return type(message)(
            queue_name=queue_name,
            actor_name=message.actor_name,
            args=message.args,
            kwargs=message.kwargs,
            options=options,
            message_id=message.message_id,
            message_timestamp=message.message_timestamp,
        )

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Enqueue ``message`` (on the delay queue when ``delay`` ms is given)."""
        return self.enqueue_many([message], delay=delay)[0]

    def enqueue_many(
        self, messages: Iterable[Message[Any]], *, delay: int | None = None
    ) -> list[Message[Any]]:
        """Enqueue many messages in one round trip (a pipeline of batched Lua calls)."""
        messages = list(messages)
        ids = generate_unique_ids(len(messages))
        prepared = [
            self._prepare(m, delay, redis_id) for m, redis_id in zip(messages, ids, strict=True)
        ]
        if self._hooks("before_enqueue"):
            for message in prepared:
                self.emit_before("enqueue", message, delay or 0)
        triples = [(m.queue_name, m.options["redis_message_id"], m.encode()) for m in prepared]
        batches = [triples[i : i + ENQUEUE_BATCH] for i in range(0, len(triples), ENQUEUE_BATCH)]
        try:
            if len(batches) == 1:
                self.scripts["enqueue"](args=_flatten(self.namespace, batches[0]))
            elif batches:
                pipe = self.client.pipeline(transaction=False)
                for batch in batches:
                    self.scripts["enqueue"](args=_flatten(self.namespace, batch), client=pipe)
                pipe.execute()
        except REDIS_ERRORS as e:
            raise self._connection_error(e) from None
        if self._hooks("after_enqueue"):
            for message in prepared:
                self.emit_after("enqueue", message, delay or 0)
        return prepared

    # -- consuming ------------------------------------------------------------------------
    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 30000) -> Consumer:
        """A consumer of ``queue_name`` holding at most ``prefetch`` unacked messages, whose
        ``next()`` blocks at most ``timeout`` ms."""
        return RedisConsumer(self, queue_name, prefetch, timeout)

    def promote(self, consumer: Consumer, message: MessageProxy) -> None:
        """Atomically move a due delayed message to its queue and ack it on the delay queue.

        If maintenance took the message back meanwhile, nothing happens: the worker that now
        holds it promotes it, so it never runs twice.
        """
        target = message.message.copy(queue_name=q_name(message.queue_name))
        target.options.pop("eta", None)
        target.options["redis_message_id"] = generate_unique_id()
        delayed_id = redis_id(message)
        self.emit_before("enqueue", target, 0)
        args = [
            self.namespace,
            dq_name(message.queue_name),
            self.worker_id,
            delayed_id,
            target.options["redis_message_id"],
            target.encode(),
        ]
        try:
            promoted = self.scripts["promote"](args=args)
        except REDIS_ERRORS as e:
            raise self._connection_error(e) from None
        finally:
            if isinstance(consumer, RedisConsumer):
                consumer._forget(delayed_id)
        if promoted:
            self.emit_after("enqueue", target, 0)

    def _connection_error(self, error: Exception) -> RedisConnectionError:
        return self.link.connection_error(error)

    def _where(self) -> str:
        return mask_url(self.url) if self.url else self._address()

    def _address(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    # -- maintenance ----------------------------------------------------------------------
    def _queue_keys(self, queue_name: str) -> list[str]:
        ns, name = self.namespace, q_name(queue_name)
        keys = []
        for queue in (name, dq_name(name)):
            keys += [
                f"{ns}:{queue}",
                f"{ns}:{queue}.msgs",
                f"{ns}:__notify__.{queue}",
                f"{ns}:__acks__.{self.worker_id}.{queue}",
            ]
        return [*keys, f"{ns}:{name}.XQ", f"{ns}:{name}.XQ.msgs", f"{ns}:{name}.XQ.reasons"]

    def flush(self, queue_name: str) -> None:
        """Drop every message of ``queue_name``, its delay queue and its dead letters."""
        self.client.delete(*self._queue_keys(queue_name))

    def flush_all(self) -> None:
        """Flush every declared queue."""
        keys = [key for name in self.get_declared_queues() for key in self._queue_keys(name)]
        if keys:
            self.client.delete(*keys)

    def join(self, queue_name: str, *, interval: int = 20, timeout: int | None = None) -> None:
        """Wait until ``queue_name`` and its delay queue hold no message, acked or not.
        Checks every ``interval`` ms; raises ``QueueJoinTimeout`` after ``timeout`` ms."""
        ns, name = self.namespace, q_name(queue_name)
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        while True:
            pipe = self.client.pipeline(transaction=True)
            pipe.hlen(f"{ns}:{name}.msgs")
            pipe.hlen(f"{ns}:{name}.DQ.msgs")
            if sum(pipe.execute()) == 0:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise QueueJoinTimeout(f"Queue {name!r} did not drain in {timeout} ms")
            time.sleep(interval / 1000)

    # -- events and results ------------------------------------------------------------------------
    def publish_events(self, events: list[dict[str, Any]]) -> None:
        """Publish ``events`` in order in one round trip (fire-and-forget)."""
        self.events.publish_many(events)

    def data_store(self) -> DataStore:
        """This broker's server, through its client, and its namespace (the default results
        live there too, under ``"{namespace}-results"``)."""
        return DataStore("redis", client=self.client, namespace=self.namespace)

    def close(self) -> None:
        """Stop heartbeating and release the connection pool (unless the client was given)."""
        self._keeper.stop()
        if self._stash is not None:
            self._stash.close()
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<RedisBroker {self._where()} namespace={self.namespace!r}>"


def _flatten(namespace: str, triples: list[tuple[str, str, bytes]]) -> list[Any]:
    args: list[Any] = [namespace]
    for triple in triples:
        args.extend(triple)
    return args
