"""Results: stored values, ResultMissing, ResultTimeout, ResultFailure, TTLs."""

from __future__ import annotations

import pytest

import taskq
from taskq.middleware import MiddlewareError
from taskq.results import ResultFailure, ResultMissing, ResultTimeout
from taskq.results.backends import StubBackend

from ..helpers import wait_for


def test_results_are_stored_only_when_asked(stub_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def plain():
        return 1

    @taskq.actor(queue_name=queue_name, store_results=True)
    def kept():
        return {"a": [1, 2]}

    start_worker(stub_broker)
    dropped = plain.send()
    assert kept.send().get_result(block=True, timeout=10_000) == {"a": [1, 2]}
    stub_broker.join(queue_name, timeout=10_000)
    with pytest.raises(ResultMissing, match="does not store results"):
        dropped.get_result(block=True, timeout=60_000)


def test_store_results_can_be_sent_with_the_message(stub_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def plain():
        return "kept"

    start_worker(stub_broker)
    message = plain.send_with_options(store_results=True)
    assert message.get_result(block=True, timeout=10_000) == "kept"


def test_result_missing_before_the_message_ran(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def work():
        return 1

    with pytest.raises(ResultMissing, match="No result"):
        work.send().get_result()


def test_result_timeout_when_blocking_runs_out(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def work():
        return 1

    with pytest.raises(ResultTimeout, match="50 ms"):
        work.send().get_result(block=True, timeout=50)


def test_result_failure_carries_the_exception_type_and_message(
    stub_broker, queue_name, start_worker
):
    @taskq.actor(queue_name=queue_name, store_results=True, max_retries=0)
    def broken():
        raise KeyError("missing thing")

    start_worker(stub_broker)
    with pytest.raises(ResultFailure) as info:
        broken.send().get_result(block=True, timeout=10_000)
    assert info.value.orig_exc_type == "KeyError"
    assert "missing thing" in info.value.orig_exc_msg


def test_results_expire_after_their_ttl(stub_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, store_results=True, result_ttl=100)
    def work():
        return 1

    start_worker(stub_broker)
    message = work.send()
    assert message.get_result(block=True, timeout=10_000) == 1
    backend = stub_broker.get_results_backend()
    wait_for(lambda: not backend.has_result(message), message="the result to expire")
    with pytest.raises(ResultMissing):
        message.get_result()


def test_get_result_with_an_explicit_backend_and_by_id():
    backend = StubBackend()
    backend.store_result("some-id", [1], 10_000)
    assert backend.get_result("some-id") == [1]
    message = taskq.Message(queue_name="q", actor_name="a", message_id="some-id")
    assert message.get_result(backend=backend) == [1]


def test_no_results_middleware_is_a_clear_error(queue_name):
    from taskq.brokers.stub import StubBroker

    broker = StubBroker()
    with pytest.raises(MiddlewareError, match="Results"):
        broker.get_results_backend()
