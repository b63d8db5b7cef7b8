"""Callbacks, CurrentMessage and the middleware bus itself."""

from __future__ import annotations

import asyncio
import threading

import pytest

import taskq
from taskq.middleware import CurrentMessage, Middleware, MiddlewareError
from taskq.middleware.current_message import get_current_message

from ..helpers import wait_for


def test_on_success_gets_the_message_and_its_result(make_stub_broker, queue_name, start_worker):
    broker = make_stub_broker()
    calls = []

    @taskq.actor(queue_name=queue_name)
    def report(message_data, result):
        calls.append((message_data["message_id"], result))

    @taskq.actor(queue_name=queue_name, on_success=report)
    def add(x, y):
        return x + y

    message = add.send(1, 2)
    start_worker(broker)
    wait_for(lambda: calls, message="the success callback")
    assert calls == [(message.message_id, 3)]


def test_on_failure_gets_every_failed_attempt_as_in_dramatiq(
    make_stub_broker, queue_name, start_worker
):
    broker = make_stub_broker()
    calls = []

    @taskq.actor(queue_name=queue_name)
    def report(message_data, error):
        calls.append((message_data["actor_name"], message_data["options"]["retries"], error))

    @taskq.actor(queue_name=queue_name, max_retries=1, min_backoff=5, max_backoff=5)
    def broken():
        raise ValueError("boom")

    broken.send_with_options(on_failure="report")
    start_worker(broker)
    wait_for(lambda: len(calls) == 2, message="two failure callbacks")
    broker.join(queue_name, timeout=10_000)
    error = {"type": "ValueError", "message": "boom"}
    assert sorted(calls) == [("broken", 1, error), ("broken", 2, error)]


def test_current_message_is_the_delivery_being_processed(
    make_stub_broker, queue_name, start_worker
):
    broker = make_stub_broker(CurrentMessage())
    seen = []

    @taskq.actor(queue_name=queue_name)
    def work():
        current = CurrentMessage.get_current_message()
        seen.append((type(current).__name__, current.message_id, current.message.message_id))

    message = work.send()
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert seen == [("MessageProxy", message.message_id, message.message_id)]
    assert CurrentMessage.get_current_message() is None


def test_current_message_in_threads_and_async_actors(make_stub_broker, queue_name, start_worker):
    broker = make_stub_broker(CurrentMessage())
    seen = {}
    lock = threading.Lock()

    @taskq.actor(queue_name=queue_name)
    def sync_actor(tag):
        with lock:
            seen[tag] = CurrentMessage.get_current_message().message_id

    @taskq.actor(queue_name=queue_name)
    async def async_actor(tag):
        await asyncio.sleep(0.001)
        seen[tag] = get_current_message().message_id

    sent = {f"s{i}": sync_actor.send(f"s{i}") for i in range(8)}
    sent.update({f"a{i}": async_actor.send(f"a{i}") for i in range(4)})
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert seen == {tag: message.message_id for tag, message in sent.items()}
    assert get_current_message() is None


def test_middleware_declares_its_options(make_stub_broker):
    class Tagging(Middleware):
        actor_options = frozenset({"tag"})

    broker = make_stub_broker(Tagging())

    @taskq.actor(tag="blue")
    def work():
        pass

    assert work.options == {"tag": "blue"}
    assert "tag" in broker.actor_options


def test_add_middleware_before_and_after(make_stub_broker):
    from taskq.middleware import Retries, TimeLimit

    broker = make_stub_broker()
    first, second = Middleware(), Middleware()
    broker.add_middleware(first, before=TimeLimit)
    broker.add_middleware(second, after=Retries)
    kinds = [type(m) for m in broker.middleware]
    assert broker.middleware.index(first) == kinds.index(TimeLimit) - 1
    assert broker.middleware.index(second) == kinds.index(Retries) + 1
    with pytest.raises(MiddlewareError, match="CurrentMessage"):
        broker.add_middleware(Middleware(), before=CurrentMessage)


class _FaultyHooks(Middleware):
    """A middleware with bugs in its hooks: every one of them raises a plain exception."""

    def before_enqueue(self, broker, message, delay):
        raise RuntimeError("bug in before_enqueue")

    def before_process_message(self, broker, message):
        raise RuntimeError("bug in before_process_message")

    def after_process_message(self, broker, message, *, result=None, exception=None):
        raise RuntimeError("bug in after_process_message")


def test_a_bug_in_a_before_hook_is_logged_and_the_work_goes_on(
    make_stub_broker, queue_name, start_worker, caplog
):
    broker = make_stub_broker(_FaultyHooks())
    done = []

    @taskq.actor(queue_name=queue_name)
    def work(x):
        done.append(x)

    work.send(7)
    start_worker(broker)
    wait_for(lambda: done, message="the actor to run despite the faulty middleware")
    broker.join(queue_name, timeout=10_000)
    assert done == [7]
    failures = [r.getMessage() for r in caplog.records if r.levelname == "CRITICAL"]
    for hook in ("before_enqueue", "before_process_message", "after_process_message"):
        assert any(f"Unexpected failure in {hook} of" in text for text in failures), hook


def test_a_middleware_error_from_a_before_hook_still_stops_the_send(make_stub_broker, queue_name):
    class Refused(MiddlewareError):
        pass

    class Gate(Middleware):
        def before_enqueue(self, broker, message, delay):
            raise Refused(f"{message.actor_name} may not be sent")

    broker = make_stub_broker(Gate())

    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    with pytest.raises(Refused, match="work may not be sent"):
        work.send()
    assert broker.queues[queue_name].qsize() == 0


def test_a_broker_with_nowhere_to_keep_results_still_refuses_such_a_send(queue_name):
    from taskq.brokers.stub import StubBroker
    from taskq.results.defaults import ResultsNotConfigured, UnconfiguredResults

    broker = StubBroker(middleware=[UnconfiguredResults(reason="this broker keeps none")])

    @taskq.actor(queue_name=queue_name, store_results=True, broker=broker)
    def add(x, y):
        return x + y

    with pytest.raises(ResultsNotConfigured, match="this broker keeps none"):
        add.send(1, 2)
    assert broker.queues[queue_name].qsize() == 0


def test_ensure_middleware_adds_one_only_when_missing(make_stub_broker):
    broker = make_stub_broker()
    added = broker.ensure_middleware(CurrentMessage)
    assert isinstance(added, CurrentMessage)
    assert broker.ensure_middleware(CurrentMessage, lambda: pytest.fail("built twice")) is added
    assert sum(isinstance(m, CurrentMessage) for m in broker.middleware) == 1


def test_ensure_middleware_places_what_it_adds(make_stub_broker):
    broker = make_stub_broker()
    first = type(broker.middleware[0])
    added = broker.ensure_middleware(CurrentMessage, before=first)
    assert broker.middleware[0] is added
