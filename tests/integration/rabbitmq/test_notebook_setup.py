"""A notebook on RabbitMQ: results need TASKQ_RESULTS_URL, and setup_broker says so."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from taskq.broker import _reset_global_broker
from taskq.results.backends import RedisBackend

from ...factories.rabbitmq import make_broker
from ...factories.redis import REDIS_URL

pytestmark = pytest.mark.rabbitmq


@pytest.fixture(autouse=True)
def forget_the_global_broker() -> Iterator[None]:
    """setup_broker() makes its broker the current one; don't leave a closed one behind."""
    yield
    _reset_global_broker()


def test_setup_warns_that_results_would_stay_in_the_worker(monkeypatch, caplog):
    from taskq.notebook import setup_broker

    monkeypatch.delenv("TASKQ_RESULTS_URL", raising=False)
    with make_broker() as broker, caplog.at_level(logging.WARNING, logger="taskq.notebook"):
        setup_broker(broker, events=False)
    assert "RabbitmqBroker has no store for results" in caplog.text
    assert "TASKQ_RESULTS_URL" in caplog.text


def test_setup_uses_the_results_url_without_a_warning(monkeypatch, caplog):
    from taskq.notebook import setup_broker

    monkeypatch.setenv("TASKQ_RESULTS_URL", f"{REDIS_URL}?namespace=nb-setup-test")
    with make_broker() as broker, caplog.at_level(logging.WARNING, logger="taskq.notebook"):
        backend = setup_broker(broker, events=False).get_results_backend()
    assert isinstance(backend, RedisBackend) and backend.namespace == "nb-setup-test"
    assert caplog.text == ""
