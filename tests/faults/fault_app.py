"""The application the fault tests run under ``taskq worker tests.faults.fault_app:broker``.

Everything comes from the environment, so one module serves every broker and test:

- ``FAULT_BROKER``: ``redis``, ``rabbitmq`` or ``sqlite``; ``FAULT_BROKER_URL`` (Redis and
  RabbitMQ), ``FAULT_NAMESPACE`` (Redis), ``FAULT_SQLITE_PATH`` (SQLite);
- ``FAULT_QUEUE``: the queue the actors use;
- ``FAULT_RECORD_URL`` and ``FAULT_RECORD_KEY``: a Redis hash counting how often each token
  was processed (``HINCRBY``), written before the ack, so a kill between the two shows up as
  a duplicate and never as a loss.

Recovery is made quick on purpose: a Redis worker counts as dead after 1.5 s without a
heartbeat, an SQLite lease expires after 2 s.
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis

import taskq
from taskq.broker import Broker
from taskq.middleware import Shutdown

HEARTBEAT_TIMEOUT = 1500
VISIBILITY_TIMEOUT = 2000


def build_broker(environ: dict[str, str] | os._Environ[str] = os.environ) -> Broker:
    """The broker described by ``environ`` (see the module docstring)."""
    kind = environ["FAULT_BROKER"]
    if kind == "redis":
        from taskq.brokers.redis import RedisBroker

        return RedisBroker(
            url=environ["FAULT_BROKER_URL"],
            namespace=environ["FAULT_NAMESPACE"],
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
        )
    if kind == "rabbitmq":
        from taskq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=environ["FAULT_BROKER_URL"], confirm_delivery=True)
    if kind == "sqlite":
        from taskq.brokers.sqlite import SQLiteBroker

        return SQLiteBroker(environ["FAULT_SQLITE_PATH"], visibility_timeout=VISIBILITY_TIMEOUT)
    raise ValueError(f"FAULT_BROKER must be redis, rabbitmq or sqlite, got {kind!r}")


class Recorder:
    """Counts processed tokens in a Redis hash; one client per process (made after fork)."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key
        self._client: redis.Redis | None = None
        self._pid = 0

    @property
    def client(self) -> redis.Redis:
        """A client owned by the calling process."""
        if self._client is None or self._pid != os.getpid():
            self._client = redis.Redis.from_url(self.url)
            self._pid = os.getpid()
        return self._client

    def record(self, token: str, suffix: str = "") -> None:
        """Count one processing of ``token`` (in ``key + suffix``)."""
        self.client.hincrby(self.key + suffix, token, 1)


def declare_actors(broker: Broker, queue_name: str, recorder: Recorder) -> dict[str, Any]:
    """Declare the fault-test actors on ``broker``; returns them by name."""

    @taskq.actor(broker=broker, queue_name=queue_name, max_retries=0, actor_name="fault_record")
    def fault_record(token: str) -> None:
        recorder.record(token)

    @taskq.actor(broker=broker, queue_name=queue_name, max_retries=0, actor_name="fault_slow")
    def fault_slow(token: str, seconds: float = 0.005) -> None:
        time.sleep(seconds)
        recorder.record(token)

    @taskq.actor(
        broker=broker,
        queue_name=queue_name,
        max_retries=0,
        notify_shutdown=True,
        actor_name="fault_long",
    )
    def fault_long(token: str, seconds: float = 60.0) -> None:
        recorder.record(token, ":started")
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(0.01)
        except Shutdown:
            recorder.record(token, ":shutdown")
            raise
        recorder.record(token)

    return {"fault_record": fault_record, "fault_slow": fault_slow, "fault_long": fault_long}


if "FAULT_BROKER" in os.environ:
    broker = build_broker()
    recorder = Recorder(os.environ["FAULT_RECORD_URL"], os.environ["FAULT_RECORD_KEY"])
    actors = declare_actors(broker, os.environ["FAULT_QUEUE"], recorder)
