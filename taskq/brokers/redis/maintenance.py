"""Heartbeats and maintenance for the Redis broker, on a small timer thread.

While a broker has open consumers, its keeper thread heartbeats every ``heartbeat_interval``
ms (so a long CPU-bound task never makes its worker look dead), retries acks that failed while
Redis was away, and every ``requeue_interval`` ms requeues the unacked messages of workers
whose heartbeat is older than ``heartbeat_timeout`` and expires old dead letters. Recovery is
therefore deterministic: within ``heartbeat_timeout + requeue_interval`` of a worker's last
heartbeat, whichever live worker runs maintenance first moves its messages back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from typing import TYPE_CHECKING, Any

import redis

from ...common import current_millis, dq_name

if TYPE_CHECKING:
    from .broker import RedisBroker
    from .consumer import RedisConsumer

logger = logging.getLogger("taskq.brokers.redis")

#: How long (ms) a worker's list of ack queues outlives its last heartbeat.
ACK_QUEUES_TTL = 86_400_000


class Keeper:
    """Runs a broker's heartbeat and maintenance thread while it has open consumers."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.consumers: set[RedisConsumer] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # the current thread's stop signal
        self.thread: threading.Thread | None = None
        self.connection_lost = False

    def register(self, consumer: RedisConsumer) -> None:
        """A consumer opened: make sure the thread runs."""
        with self.lock:
            self.consumers.add(consumer)
            if self.thread is None:
                self.stopping = threading.Event()
                self.thread = threading.Thread(
                    target=self._run,
                    args=(self.stopping,),
                    name=f"taskq-redis-keeper-{self.broker.namespace}",
                    daemon=True,
                )
                self.thread.start()

    def unregister(self, consumer: RedisConsumer) -> None:
        """A consumer closed: when it was the last one, stop the thread and retire."""
        with self.lock:
            self.consumers.discard(consumer)
            if self.consumers or self.thread is None:
                return
            thread, self.thread = self.thread, None
            stopping = self.stopping
        stopping.set()
        if thread is not threading.current_thread():
            thread.join(5)
        try:
            self.broker.link.resend_pending()
            self.broker.scripts["retire"](args=[self.broker.namespace, self.broker.worker_id])
        except redis.RedisError:
            logger.debug("Could not retire worker %s.", self.broker.worker_id, exc_info=True)

    def stop(self) -> None:
        """Stop the thread (used by ``close`` and to simulate a dead worker in tests)."""
        with self.lock:
            thread, stopping = self.thread, self.stopping
        stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    # -- the thread -----------------------------------------------------------------------
    def _run(self, stopping: threading.Event) -> None:
        broker = self.broker
        next_maintenance = 0.0
        while not stopping.is_set():
            now = current_millis()
            try:
                self.heartbeat()
                broker.link.resend_pending()
                with self.lock:
                    consumers = list(self.consumers)
                for consumer in consumers:  # e.g. acks left for a consumer that then paused
                    consumer.flush_waiting_acks()
                if now >= next_maintenance:
                    self.maintain()
                    next_maintenance = now + broker.requeue_interval
                if self.connection_lost:
                    logger.info("Redis is reachable again; heartbeats resumed.")
                    self.connection_lost = False
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if not self.connection_lost:
                    logger.warning("Redis unreachable (%s); heartbeats will resume with it.", e)
                    self.connection_lost = True
            except Exception:
                logger.exception("Unexpected error in Redis heartbeat/maintenance; continuing.")
            wait = min(broker.heartbeat_interval, max(0, next_maintenance - current_millis()))
            stopping.wait(max(wait, 10) / 1000)

    def heartbeat(self) -> None:
        """Record this worker as alive, with a little information for ``worker_heartbeats``."""
        broker = self.broker
        ns, worker_id = broker.namespace, broker.worker_id
        with self.lock:
            queues = sorted({consumer.queue_name for consumer in self.consumers})
        info = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "queues": queues,
            "heartbeat_timeout": broker.heartbeat_timeout,
        }
        pipe = broker.client.pipeline(transaction=False)
        pipe.zadd(f"{ns}:__heartbeats__", {worker_id: current_millis()})
        pipe.hset(f"{ns}:__workers__", worker_id, json.dumps(info))
        pipe.pexpire(f"{ns}:__ackqueues__.{worker_id}", ACK_QUEUES_TTL)
        pipe.execute()

    def maintain(self) -> int:
        """Requeue the messages of dead workers and expire old dead letters; returns how many
        messages were requeued."""
        broker = self.broker
        client, ns = broker.client, broker.namespace
        now = current_millis()
        declared = sorted(broker.get_declared_queues())
        known_queues = [*declared, *(dq_name(name) for name in declared)]
        dead: Any = client.zrangebyscore(
            f"{ns}:__heartbeats__", "-inf", now - broker.heartbeat_timeout
        )
        requeued = 0
        for raw_id in dead:
            worker_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            if worker_id == broker.worker_id:
                continue
            queues = list(known_queues)
            if not client.exists(f"{ns}:__ackqueues__.{worker_id}"):
                queues += self._scan_ack_queues(worker_id)  # e.g. a Dramatiq worker
            count = broker.scripts["recover_worker"](
                args=[ns, worker_id, now, broker.heartbeat_timeout, *queues]
            )
            if count > 0:
                logger.warning(
                    "Worker %s stopped heartbeating; requeued its %d unacked message(s).",
                    worker_id,
                    count,
                )
                requeued += count
        if declared:
            broker.scripts["expire_dead"](args=[ns, now - broker.dead_letter_ttl, *declared])
        return requeued

    def _scan_ack_queues(self, worker_id: str) -> list[str]:
        prefix = f"{self.broker.namespace}:__acks__.{worker_id}."
        pattern = _glob_escape(prefix) + "*"
        names = []
        for key in self.broker.client.scan_iter(match=pattern, count=1000):
            text = key.decode() if isinstance(key, bytes) else key
            names.append(text[len(prefix) :])
        return names


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
