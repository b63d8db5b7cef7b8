"""The actors behind ``taskq demo``: small jobs that store their results.

Import it with ``TASKQ_BROKER_URL`` pointing at the broker to use (``taskq demo`` does this and
runs ``taskq worker taskq.demo_app``). The broker comes with results: on the SQLite broker they
go to the same file, so the producer and the worker processes share them with no server.
"""

from __future__ import annotations

import time

import taskq

QUEUE_NAME = "taskq_demo"

#: The current broker (``TASKQ_BROKER_URL``, else the embedded SQLite file), with results.
broker = taskq.get_broker()


@taskq.actor(queue_name=QUEUE_NAME, store_results=True)
def add(x: int, y: int) -> int:
    """Add two numbers."""
    return x + y


@taskq.actor(queue_name=QUEUE_NAME, store_results=True)
def count_words(text: str) -> int:
    """Count the words of ``text``."""
    return len(text.split())


@taskq.actor(queue_name=QUEUE_NAME, store_results=True)
def slow_square(x: int, work_ms: int = 200) -> int:
    """Square ``x`` after ``work_ms`` of pretend work."""
    time.sleep(work_ms / 1000)
    return x * x


@taskq.actor(queue_name=QUEUE_NAME, store_results=True, max_retries=0)
def fail_on_purpose(why: str) -> None:
    """Raise, to show how a failure comes back to the caller."""
    raise ValueError(why)
