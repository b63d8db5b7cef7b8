"""SQLiteBackend: results shared through the file, with TTLs and atomic counters."""

from __future__ import annotations

import threading

import pytest

import taskq
from taskq.brokers.sqlite import SQLiteBroker
from taskq.results import ResultFailure, ResultMissing, Results, ResultTimeout
from taskq.results.backends import SQLiteBackend

from ...helpers import wait_for


@pytest.fixture
def backend(tmp_path):
    backend = SQLiteBackend(tmp_path / "taskq.db")
    yield backend
    backend.close()


def test_results_expire_after_their_ttl(backend):
    message = taskq.Message(queue_name="default", actor_name="add")
    backend.store_result(message, {"sum": 3}, ttl=200)
    assert backend.get_result(message) == {"sum": 3}
    wait_for(lambda: not backend.has_result(message), message="the result to expire")
    with pytest.raises(ResultMissing):
        backend.get_result(message)


def test_another_backend_on_the_same_file_sees_results(tmp_path, backend):
    reader = SQLiteBackend(tmp_path / "taskq.db")
    message = taskq.Message(queue_name="default", actor_name="add")
    with pytest.raises(ResultTimeout):
        reader.get_result(message, block=True, timeout=50)
    threading.Timer(0.1, backend.store_result, (message, 42, 60_000)).start()
    assert reader.get_result(message, block=True, timeout=10_000) == 42
    reader.close()


def test_increment_is_atomic_and_restarts_after_expiry(backend):
    threads = [
        threading.Thread(target=lambda: [backend.increment("hits", 1, 60_000) for _ in range(50)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.increment("hits", 0, 60_000) == 200
    backend.increment("short", 5, 100)
    wait_for(lambda: backend._read("short") is None, message="the counter to expire")
    assert backend.increment("short", 1, 100) == 1


def test_failures_and_results_through_a_worker(tmp_path, queue_name, start_worker):
    path = tmp_path / "taskq.db"
    broker = SQLiteBroker(path)
    broker.add_middleware(Results(backend=SQLiteBackend(path)))

    @taskq.actor(queue_name=queue_name, broker=broker, store_results=True)
    def divide(a, b):
        return a / b

    start_worker(broker)
    good, bad = divide.send(6, 3), divide.send_with_options(args=(1, 0), max_retries=0)
    assert good.get_result(backend=broker.get_results_backend(), block=True) == 2
    with pytest.raises(ResultFailure, match="ZeroDivisionError"):
        bad.get_result(backend=broker.get_results_backend(), block=True)
    broker.close()
