"""Cancellation: taskq.abort skips queued messages and interrupts running ones."""

from __future__ import annotations

import threading
import time

import pytest

import taskq
from taskq.middleware import Abort, Abortable, MiddlewareError
from taskq.results import ResultFailure
from taskq.results.backends import StubBackend

from ..helpers import wait_for


@pytest.fixture
def broker(make_stub_broker, recorder):
    return make_stub_broker(Abortable(interval=20), recorder)


def test_abort_needs_the_abortable_middleware(make_stub_broker, queue_name):
    make_stub_broker()

    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    with pytest.raises(MiddlewareError, match="Abortable"):
        taskq.abort(work.send())


def test_abort_rejects_things_that_are_not_messages(broker):
    with pytest.raises(TypeError, match="message"):
        taskq.abort(42)


def test_an_aborted_queued_message_is_skipped_and_acked(broker, recorder, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name, store_results=True)
    def work(tag):
        ran.append(tag)

    aborted = work.send("aborted")
    work.send("kept")
    taskq.abort(aborted)
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == ["kept"]
    assert recorder.skipped == [(aborted.message_id, "aborted")]
    assert aborted.message_id in recorder.acked
    assert broker.dead_letters == []
    with pytest.raises(ResultFailure) as info:
        aborted.get_result()
    assert info.value.orig_exc_type == "Abort"


def test_abort_by_message_id(broker, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def work():
        ran.append(1)

    taskq.abort(work.send().message_id)
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == []


def test_a_running_message_is_interrupted_and_not_retried(broker, queue_name, start_worker):
    started = threading.Event()
    outcome = []

    @taskq.actor(queue_name=queue_name, min_backoff=10, max_backoff=10)
    def long_job():
        started.set()
        try:
            for _ in range(2000):
                time.sleep(0.01)
        except Abort:
            outcome.append("aborted")
            raise
        outcome.append("finished")

    start_worker(broker)
    message = long_job.send()
    assert started.wait(10)
    taskq.abort(message)
    wait_for(lambda: outcome, message="the actor to end")
    broker.join(queue_name, timeout=10_000)
    assert outcome == ["aborted"]
    assert broker.dead_letters == []


def test_actors_declared_not_abortable_run_anyway(broker, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name, abortable=False)
    def must_run():
        ran.append(1)

    taskq.abort(must_run.send())
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == [1]


def test_marks_can_live_in_their_own_backend(queue_name, start_worker):
    from taskq.brokers.stub import StubBroker

    store = StubBackend()
    broker = StubBroker()
    broker.add_middleware(Abortable(backend=store, interval=20))
    ran = []

    @taskq.actor(broker=broker, queue_name=queue_name)
    def work(tag):
        ran.append(tag)

    aborted = work.send("aborted")
    taskq.abort(aborted, broker=broker, ttl=60_000)
    work.send("kept")
    assert store.is_aborted(aborted.message_id)
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == ["kept"]


def test_abort_marks_expire_after_their_ttl(broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    message = work.send()
    taskq.abort(message, ttl=50)
    backend = broker.get_results_backend()
    assert backend.is_aborted(message.message_id)
    wait_for(lambda: not backend.is_aborted(message.message_id), message="the mark to expire")
