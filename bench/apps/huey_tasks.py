"""The embedded-broker comparison's tasks on Huey's ``SqliteHuey``, with the bodies of
:mod:`bench.apps.tasks`: ``incr`` INCRs the Redis counter, ``latency`` records send→start.

Run with Huey's own consumer: ``huey_consumer bench.apps.huey_tasks.huey -k thread -w 8``.
"""

from __future__ import annotations

import time

import redis
from huey import SqliteHuey

from . import settings

huey = SqliteHuey(name=settings.QUEUE, filename=settings.SQLITE_PATH)
client = redis.Redis.from_url(settings.REDIS_URL)
#: The Redis key each task increments (the same as bench.apps.tasks.COUNTER_KEY).
COUNTER_KEY = f"{settings.NAMESPACE}:counter"


@huey.task()
def incr() -> None:
    client.incr(COUNTER_KEY)


@huey.task()
def latency(sent_at: float) -> None:
    settings.record_latency(client, sent_at, time.time())
