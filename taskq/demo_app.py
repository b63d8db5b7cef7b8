"""The actors behind ``taskq demo``: small jobs that store their results.

Import it with ``TASKQ_BROKER_URL`` pointing at the broker to use (``taskq demo`` does this and
runs ``taskq worker taskq.demo_app``). On the SQLite broker, results go to the same file, so
the producer and the worker processes share them with no server.
"""

from __future__ import annotations

import time

import taskq
from taskq.broker import Broker
from taskq.results import Results
from taskq.results.backend import ResultBackend

QUEUE_NAME = "taskq_demo"


def _results_backend(broker: Broker) -> ResultBackend:
    from taskq.brokers.sqlite import SQLiteBroker

    if isinstance(broker, SQLiteBroker):
        from taskq.results.backends.sqlite import SQLiteBackend

        return SQLiteBackend(broker.path)
    from taskq.results.backends.stub import StubBackend

    return StubBackend()  # results stay in this process: enough for the in-process fallback


broker = taskq.get_broker()
if broker.get_middleware(Results) is None:
    broker.add_middleware(Results(backend=_results_backend(broker)))


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
