"""The Redis consumer: fetches with a Lua script and, when the queue is empty, blocks on the
queue's wake-up list instead of polling, so an idle consumer costs nothing."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import redis

from ...broker import Consumer, MessageProxy
from ...common import current_millis
from ..shared import decode_or_dead_letter, nack_reason

if TYPE_CHECKING:
    from .broker import RedisBroker
    from .link import RedisLink

logger = logging.getLogger("taskq.brokers.redis")

#: Below this many seconds a consumer sleeps instead of issuing a blocking Redis call.
_MIN_BLOCK = 0.01


class RedisConsumer(Consumer):
    """Consumes one queue (or delay queue) of a :class:`~taskq.brokers.redis.RedisBroker`.

    ``__next__`` returns a cached message if it has one, else fetches up to ``prefetch`` minus
    the unacked count; when the queue is empty it waits (BLPOP) for a wake-up token pushed by
    enqueue, at most ``timeout`` ms. Messages pushed by producers that leave no token (Dramatiq,
    hand-written ones) are picked up by the fetch that follows each timeout.
    """

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        self.broker = broker
        #: Everything this consumer uses of its broker.
        self.link: RedisLink = broker.link
        link = self.link
        self.queue_name = queue_name
        self.prefetch = max(1, prefetch)
        self.timeout = timeout / 1000
        self.is_delay_queue = queue_name.endswith(".DQ")
        self._cache: collections.deque[tuple[str, bytes]] = collections.deque()
        self._unacked: set[str] = set()
        self._etas: dict[str, int] = {}
        self._room = threading.Condition()
        self._notify_key = f"{link.namespace}:__notify__.{queue_name}"
        socket_timeout = link.client.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout:  # a blocking call must return before the socket gives up
            self._max_block = max(_MIN_BLOCK, socket_timeout * 0.8)
        else:
            self._max_block = self.timeout
        self._closed = False
        # Acks of finished messages wait in _ack_batch (guarded by _room). While the consumer
        # is about to fetch (_carrying), it takes them along in the fetch call; otherwise the
        # acking thread flushes them itself (group-committed).
        self._ack_batch: list[str] = []
        self._ack_flushing = False
        self._carrying = False
        self.link.register(self)

    # -- fetching -------------------------------------------------------------------------
    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self._cache:
                    proxy = self._decode_next()
                    if proxy is not None:
                        return proxy
                    continue
                if self.link.has_pending():
                    self.link.resend_pending()
                if self.queue_name in self.link.fetch_in_doubt:
                    self._requeue_orphans()
                fetched = self._fetch()
                if fetched is None:  # no room: every prefetched message is still held
                    return None
                if fetched:
                    continue
                if self._ack_batch:  # about to block: settle what finished meanwhile
                    self._flush_acks_unless_flushing()
                if not self._wait_for_wake_up():
                    return None
                if not self._fetch():
                    return None
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise self.link.connection_error(e) from None

    def holds_more(self) -> bool:
        """Whether fetched messages wait in this consumer's cache."""
        return bool(self._cache)

    def _take_room(self) -> tuple[int, list[str]]:
        """How many messages the next fetch may take, and the acks it carries along (the
        script settles them before popping, so at most ``prefetch`` are ever held)."""
        with self._room:
            self._carrying = True
            if len(self._unacked) - len(self._ack_batch) >= self.prefetch:
                self._room.wait(self.timeout)
            carried, self._ack_batch = self._ack_batch, []
            return self.prefetch - len(self._unacked) + len(carried), carried

    def _fetch(self) -> bool | None:
        """Fetch as many messages as there is room for: True if some came, False if the
        queue is empty, None if there is no room."""
        link = self.link
        try:
            count, carried = self._take_room()
            if count <= 0 and not carried:
                return None
            args = [link.namespace, self.queue_name, link.worker_id, current_millis()]
            args.append(max(count, 0))
            try:
                reply = link.scripts["fetch"](args=[*args, *carried])
            except (redis.ConnectionError, redis.TimeoutError):
                # The script may have run without its reply reaching us: the messages would
                # then sit in our acks set, unknown to this process, until it dies. Check on
                # reconnect; resend the carried acks then (acking twice is harmless).
                link.fetch_in_doubt.add(self.queue_name)
                if carried:
                    link.retry_later("ack", [*args[:4], *carried])
                raise
        finally:
            with self._room:
                self._carrying = False
        self._forget_all(carried)
        if count <= 0:
            return None
        if not reply:
            return False
        with self._room:
            for i in range(0, len(reply), 2):
                message_id = _text(reply[i])
                self._unacked.add(message_id)
                link.fetched[self.queue_name].add(message_id)
                self._cache.append((message_id, _bytes(reply[i + 1])))
        return True

    def _requeue_orphans(self) -> None:
        """Requeue the messages our acks set holds that no consumer of this process fetched
        (a fetch whose reply was lost with the connection)."""
        link = self.link
        acks = f"{link.namespace}:__acks__.{link.worker_id}.{self.queue_name}"
        held = {_text(member) for member in link.client.smembers(acks)}
        with self._room:
            orphans = sorted(held - link.fetched[self.queue_name])
        if orphans:
            logger.warning(
                "Requeueing %d message(s) of %s whose fetch was cut off by a lost connection.",
                len(orphans),
                self.queue_name,
            )
            link.scripts["requeue"](
                args=[link.namespace, self.queue_name, link.worker_id, *orphans]
            )
        link.fetch_in_doubt.discard(self.queue_name)

    def _wait_for_wake_up(self) -> bool:
        """Block until enqueue leaves a token (True) or the wait times out (False)."""
        wait = min(self.timeout, self._max_block)
        if self._etas:  # wake up in time to promote the earliest held delayed message
            wait = min(wait, (min(self._etas.values()) - current_millis()) / 1000)
        if wait < _MIN_BLOCK:
            time.sleep(max(0.0, wait))
            return False
        return self.link.client.blpop([self._notify_key], timeout=wait) is not None

    def _decode_next(self) -> MessageProxy | None:
        message_id, payload = self._cache.popleft()
        message = decode_or_dead_letter(
            payload,
            partial(self._dead_letter, message_id),
            logger=logger,
            queue_name=self.queue_name,
            label=message_id,
        )
        if message is None:
            return None
        if self.is_delay_queue:
            eta = message.options.get("eta", 0)
            self._etas[message_id] = eta if isinstance(eta, int) else 0
        return MessageProxy(message, fetch_state=message_id)

    # -- settling -------------------------------------------------------------------------
    def ack(self, message: MessageProxy) -> None:
        """Forget a processed message (retried after a reconnect if Redis is away).

        Acks are group-committed: the first worker thread to ack becomes the flusher and
        sends every id that piles up meanwhile in one script call, so N threads finishing
        together cost one round trip, not N.
        """
        with self._room:
            self._ack_batch.append(redis_id(message))
            if self._carrying:  # the consumer is fetching: it takes this ack along
                self._room.notify()
                return
            if self._ack_flushing:
                return
            self._ack_flushing = True
        self._flush_acks()

    def flush_waiting_acks(self) -> None:
        """Send acks left for a fetch that has not come (the consumer paused or stopped)."""
        with self._room:
            if not self._ack_batch or self._carrying:
                return
        self._flush_acks_unless_flushing()

    def _flush_acks_unless_flushing(self) -> None:
        with self._room:
            if self._ack_flushing:
                return
            self._ack_flushing = True
        self._flush_acks()

    def _flush_acks(self) -> None:
        link = self.link
        try:
            while True:
                with self._room:
                    batch, self._ack_batch = self._ack_batch, []
                    if not batch:
                        self._ack_flushing = False
                        return
                args = [link.namespace, self.queue_name, link.worker_id, current_millis()]
                link.settle("ack", [*args, *batch])
                self._forget_all(batch)
        except BaseException:
            with self._room:
                self._ack_flushing = False
            raise

    def nack(self, message: MessageProxy) -> None:
        """Dead-letter ``message`` with ``message.reason`` (or its traceback) as the reason;
        a bare Message (no delivery state) is accepted too, as in Dramatiq."""
        self._dead_letter(redis_id(message), str(nack_reason(message) or ""))

    def _dead_letter(self, message_id: str, reason: str) -> None:
        self.link.settle("nack", self._settle_args(message_id, reason))
        self._forget(message_id)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        """Put fetched-but-unstarted messages back at the head of the queue."""
        self._requeue_ids([redis_id(message) for message in messages])

    def _requeue_ids(self, message_ids: list[str]) -> None:
        if not message_ids:
            return
        link = self.link
        args = [link.namespace, self.queue_name, link.worker_id, *message_ids]
        link.settle("requeue", args)
        self._forget_all(message_ids)

    def _settle_args(self, message_id: str, reason: str | None = None) -> list[Any]:
        link = self.link
        args = [link.namespace, self.queue_name, link.worker_id, message_id, current_millis()]
        return args if reason is None else [*args, reason]

    def _forget(self, message_id: str) -> None:
        self._forget_all((message_id,))

    def _forget_all(self, message_ids: Sequence[str]) -> None:
        """Drop settled messages from the books and wake a fetch waiting for room."""
        with self._room:
            fetched, etas = self.link.fetched[self.queue_name], self._etas
            self._unacked.difference_update(message_ids)
            fetched.difference_update(message_ids)
            if etas:
                for message_id in message_ids:
                    etas.pop(message_id, None)
            self._room.notify()

    @property
    def unacked_count(self) -> int:
        """Messages fetched by this consumer and not yet acked, nacked or requeued."""
        return len(self._unacked)

    def close(self) -> None:
        """Requeue fetched messages that were never handed out, and stop heartbeating."""
        if self._closed:
            return
        self._closed = True
        if self._ack_batch:
            self._flush_acks_unless_flushing()
        cached = [message_id for message_id, _ in self._cache]
        self._cache.clear()
        self._requeue_ids(cached)
        self.link.unregister(self)


def redis_id(message: MessageProxy) -> str:
    """The id under which ``message`` is stored in Redis (its hash field)."""
    state = getattr(message, "_fetch_state", None)  # a bare Message has none
    if isinstance(state, str):
        return state
    return str(message.options["redis_message_id"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value
