"""TASKQ_RESULTS_URL: result backends named by URL, shared by every process of a deployment."""

from __future__ import annotations

import pytest

from taskq.brokers.stub import StubBroker
from taskq.results.backends import MemcachedBackend, RedisBackend, SQLiteBackend, StubBackend
from taskq.results.defaults import default_results_backend
from taskq.results.urls import backend_from_url
from taskq.urls import broker_from_url


def test_each_scheme_names_its_backend_and_namespace(tmp_path):
    redis = backend_from_url("redis://127.0.0.1:6379/3?namespace=app-results")
    assert isinstance(redis, RedisBackend) and redis.namespace == "app-results"
    assert redis.client.connection_pool.connection_kwargs["db"] == 3

    memcached = backend_from_url("memcached://127.0.0.1:11211,127.0.0.1:11212")
    assert isinstance(memcached, MemcachedBackend) and memcached.namespace == "taskq-results"

    sqlite = backend_from_url(f"sqlite:///{tmp_path / 'results.db'}")
    assert isinstance(sqlite, SQLiteBackend)
    assert str(sqlite.path) == str(tmp_path / "results.db")

    assert isinstance(backend_from_url("stub://"), StubBackend)


def test_bad_urls_are_refused_with_the_reason_and_no_password():
    with pytest.raises(ValueError, match="Unknown results URL scheme 'mongodb'") as error:
        backend_from_url("mongodb://user:secret@db:27017")
    assert "secret" not in str(error.value)
    with pytest.raises(ValueError, match="names no memcached host:port"):
        backend_from_url("memcached://")


def test_the_environment_overrides_where_a_broker_keeps_results(tmp_path, monkeypatch):
    broker = broker_from_url(f"sqlite:///{tmp_path / 'broker.db'}")
    try:
        assert default_results_backend(broker).path == broker.path

        monkeypatch.setenv("TASKQ_RESULTS_URL", f"sqlite:///{tmp_path / 'shared.db'}")
        backend = default_results_backend(broker)
        assert str(backend.path) == str(tmp_path / "shared.db")
        message_key = "a-message-id"
        backend.store_result(message_key, 42, ttl=10_000)
        assert default_results_backend(StubBroker()).get_result(message_key) == 42
    finally:
        broker.close()
