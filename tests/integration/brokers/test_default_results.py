"""Brokers taskq builds come with results: ``store_results=True`` works with no configuration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

import taskq
from taskq.broker import _reset_global_broker
from taskq.results import Results
from taskq.results.backends import StubBackend
from taskq.results.backends.redis import RedisBackend
from taskq.results.backends.sqlite import SQLiteBackend
from taskq.results.defaults import ResultsNotConfigured, ResultsNotStored
from taskq.urls import broker_from_url

from ...factories.rabbitmq import RABBITMQ_URL, delete_queues
from ...helpers import wait_for


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKQ_BROKER_URL", raising=False)
    monkeypatch.delenv("TASKQ_RESULTS_URL", raising=False)
    _reset_global_broker()
    yield
    _reset_global_broker()


def _run_one(broker: taskq.Broker, queue_name: str, start_worker) -> int:
    taskq.set_broker(broker)  # get_result finds the backend on the current broker

    @taskq.actor(queue_name=queue_name, store_results=True, broker=broker)
    def add(x: int, y: int) -> int:
        return x + y

    start_worker(broker)
    return add.send(1, 2).get_result(block=True, timeout=10_000)


def test_the_default_broker_stores_results_in_its_own_file(queue_name, start_worker):
    broker = taskq.get_broker()
    try:
        assert isinstance(broker.get_results_backend(), SQLiteBackend)
        assert broker.get_results_backend().path == broker.path
        assert _run_one(broker, queue_name, start_worker) == 3
    finally:
        broker.close()


@pytest.mark.redis
def test_a_redis_url_stores_results_on_the_same_server(queue_name, start_worker):
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    broker = broker_from_url(f"redis://127.0.0.1:6379/0?namespace={namespace}")
    try:
        backend = broker.get_results_backend()
        assert isinstance(backend, RedisBackend) and backend.namespace == f"{namespace}-results"
        assert _run_one(broker, queue_name, start_worker) == 3
    finally:
        broker.flush_all()
        keys = broker.client.keys(f"{namespace}*")
        if keys:
            broker.client.delete(*keys)
        broker.close()


@pytest.mark.rabbitmq
def test_rabbitmq_without_a_results_url_refuses_at_once_and_names_the_setting(queue_name):
    broker = broker_from_url(RABBITMQ_URL)
    try:

        @taskq.actor(queue_name=queue_name, store_results=True, broker=broker)
        def add(x: int, y: int) -> int:
            return x + y

        @taskq.actor(queue_name=queue_name, broker=broker)
        def plain() -> None:
            pass

        with pytest.raises(ResultsNotConfigured, match="TASKQ_RESULTS_URL"):
            add.send(1, 2)
        plain.send()  # actors that store nothing are unaffected
        wait_for(
            lambda: broker.get_queue_message_counts(queue_name)[0] == 1,
            timeout=10,
            message="the plain message to reach RabbitMQ",
        )
        assert broker.get_queue_message_counts(queue_name)[0] == 1  # and only that one
    finally:
        broker.close()
        delete_queues(broker)


@pytest.mark.rabbitmq
def test_rabbitmq_with_a_results_url_stores_results_there(queue_name, monkeypatch, tmp_path):
    monkeypatch.setenv("TASKQ_RESULTS_URL", f"sqlite:///{tmp_path}/results.db")
    broker = broker_from_url(RABBITMQ_URL)
    try:
        backend = broker.get_results_backend()
        assert isinstance(backend, SQLiteBackend) and backend.path == f"{tmp_path}/results.db"
    finally:
        broker.close()


def test_a_programs_own_results_middleware_is_the_only_one(tmp_path):
    broker = broker_from_url(f"sqlite:///{tmp_path}/own.db")
    try:
        mine = Results(backend=StubBackend())
        broker.add_middleware(mine)
        assert [m for m in broker.middleware if isinstance(m, Results)] == [mine]
        assert broker.get_results_backend() is mine.backend
    finally:
        broker.close()


def test_get_result_of_an_actor_that_stores_nothing_fails_at_once(queue_name, tmp_path):
    broker = broker_from_url(f"sqlite:///{tmp_path}/plain.db")
    taskq.set_broker(broker)
    try:

        @taskq.actor(queue_name=queue_name)
        def plain() -> int:
            return 1

        message = plain.send()
        started = time.monotonic()
        with pytest.raises(ResultsNotStored, match="store_results=True"):
            message.get_result(block=True, timeout=30_000)
        assert time.monotonic() - started < 10  # not the 30 s timeout
    finally:
        broker.close()
