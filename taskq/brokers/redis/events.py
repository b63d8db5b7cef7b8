"""Lifecycle events on Redis: PUBLISH on ``{ns}:__events__`` plus a capped history list.

Composed into :class:`~taskq.brokers.redis.RedisBroker` as its ``events``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from ...encoder import dumps_lenient
from ...errors import ConnectionError as BrokerConnectionError
from ...events.transport import EventStream

if TYPE_CHECKING:
    import redis

logger = logging.getLogger("taskq.brokers.redis")

#: How many events ``recent_events`` can return (the history list is trimmed to this).
EVENT_HISTORY = 10_000
#: Longest wait (s) for Redis to confirm an events subscription.
SUBSCRIBE_TIMEOUT = 10.0


class RedisEvents:
    """The events channel and history of one namespace."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.channel = f"{namespace}:__events__"

    def publish(self, event: dict[str, Any]) -> None:
        """PUBLISH the event and keep it in the capped history list. Fire-and-forget: errors
        are logged at debug level and swallowed."""
        self.publish_many([event])

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        """Publish ``events`` in order, each as its own JSON message, in one round trip."""
        if not events:
            return
        try:
            encoded = [dumps_lenient(event) for event in events]
            pipe = self.client.pipeline(transaction=False)
            for text in encoded:
                pipe.publish(self.channel, text)
            pipe.lpush(f"{self.channel}.history", *encoded)
            pipe.ltrim(f"{self.channel}.history", 0, EVENT_HISTORY - 1)
            pipe.execute()
        except Exception:
            logger.debug("Could not publish %d event(s).", len(events), exc_info=True)

    def subscribe(self, timeout: int) -> EventStream:
        """Events published from now on; ``next()`` waits up to ``timeout`` ms, else None.

        Returns once Redis confirmed the subscription, so an event published right after
        (by this process or another) is not missed.
        """
        pubsub = self.client.pubsub()
        pubsub.subscribe(self.channel)
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
        while (remaining := deadline - time.monotonic()) > 0:
            reply = pubsub.get_message(timeout=remaining)
            if reply is not None and reply["type"] == "subscribe":
                return RedisEventStream(pubsub, timeout)
        pubsub.close()
        raise BrokerConnectionError(f"Redis did not confirm the subscription to {self.channel}")

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` most recent events, oldest first."""
        raw = self.client.lrange(f"{self.channel}.history", 0, max(0, limit - 1))
        events = []
        for data in reversed(raw):
            try:
                events.append(json.loads(data))
            except ValueError:
                continue
        return events


class RedisEventStream(EventStream):
    """Reads events from a Redis pub/sub subscription."""

    def __init__(self, pubsub: Any, timeout: int) -> None:
        self.pubsub = pubsub
        self.timeout = timeout / 1000

    def __next__(self) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            item = self.pubsub.get_message(timeout=remaining)
            if item is None or item.get("type") != "message":
                continue
            try:
                event = json.loads(item["data"])
            except ValueError:
                continue
            if isinstance(event, dict):
                return event

    def close(self) -> None:
        self.pubsub.close()
