"""Events middleware and the taskq.events API on the stub broker."""

from __future__ import annotations

import logging
import time

import pytest

import taskq
from taskq import events
from taskq.brokers.stub import StubBroker
from taskq.middleware import Middleware, SkipMessage
from taskq.middleware.events import MAX_TRACEBACK_SIZE, Events, bounded, bounded_traceback
from taskq.results import Results
from taskq.results.backends import StubBackend
from taskq.urls import broker_from_url

from ..helpers import wait_for
from ..integration.observability.events_helpers import events_of, kinds


@pytest.fixture
def broker():
    broker = StubBroker()
    broker.add_middleware(Results(backend=StubBackend()))
    broker.add_middleware(Events())
    taskq.set_broker(broker)
    return broker


def test_stored_results_appear_in_succeeded_events(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def add(x: int, y: int) -> int:
        return x + y

    with events.subscribe(broker) as subscription:
        start_worker(broker)
        message = add.send(2, y=3)
        seen = events_of(subscription, message.message_id, "succeeded")
    assert kinds(seen) == ["enqueued", "started", "succeeded"]
    assert (seen[0]["args"], seen[0]["kwargs"]) == ([2], {"y": 3})
    assert seen[2]["result"] == "5"


def test_delayed_enqueue_carries_its_eta_and_is_announced_once(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def later() -> None:
        pass

    with events.subscribe(broker) as subscription:
        start_worker(broker)
        message = later.send_with_options(delay=50)
        seen = events_of(subscription, message.message_id, "succeeded")
    assert kinds(seen) == ["enqueued", "started", "succeeded"]
    assert seen[0]["eta"] >= message.message_timestamp + 50
    assert seen[0]["queue_name"] == queue_name


class SkipEverything(Middleware):
    def before_process_message(self, broker, message):
        raise SkipMessage()


def test_skipped_messages_publish_a_skipped_event(broker, queue_name, start_worker):
    broker.add_middleware(SkipEverything(), before=Events)

    @taskq.actor(queue_name=queue_name)
    def never() -> None:
        raise AssertionError("skipped messages do not run")

    with events.subscribe(broker) as subscription:
        start_worker(broker)
        message = never.send()
        seen = events_of(subscription, message.message_id, "skipped")
    assert kinds(seen) == ["enqueued", "skipped"]


def test_subscriptions_filter_by_queue_and_actor(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def wanted() -> None:
        pass

    @taskq.actor(queue_name=queue_name + "x")
    def other() -> None:
        pass

    by_queue = events.subscribe(broker, queue=queue_name, timeout=100)
    by_actor = events.subscribe(broker, actor="other", timeout=100)
    start_worker(broker)
    first, second = wanted.send(), other.send()
    events_of(by_queue, first.message_id, "succeeded")
    events_of(by_actor, second.message_id, "succeeded")
    assert {e["actor_name"] for e in events.history(broker, 100, queue=queue_name)} == {"wanted"}
    assert {e["queue_name"] for e in events.history(broker, 100, actor="other")} == {
        queue_name + "x"
    }
    assert len(events.history(broker, 2)) == 2
    by_queue.close()
    by_actor.close()
    assert list(by_queue) == []


def test_callback_subscription_delivers_until_stopped(broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def ping() -> None:
        pass

    received: list[dict] = []
    handle = events.subscribe_callback(broker, received.append, actor="ping", timeout=50)
    start_worker(broker)
    message = ping.send()
    wait_for(lambda: any(e["event"] == "succeeded" for e in received), message="callback")
    assert {e["message_id"] for e in received} == {message.message_id}
    handle.stop()
    assert not handle.running


def test_a_broken_transport_is_logged_once_and_never_stops_work(queue_name, start_worker, caplog):
    class BrokenEvents(StubBroker):
        def publish_event(self, event):
            raise ConnectionRefusedError("event transport down")

    broker = BrokenEvents(middleware=[Events()])
    done = []

    @taskq.actor(queue_name=queue_name, broker=broker)
    def work(i: int) -> None:
        done.append(i)

    with caplog.at_level(logging.ERROR, logger="taskq.middleware.events"):
        for i in range(20):
            work.send(i)
        start_worker(broker)
        wait_for(lambda: len(done) == 20, message="20 messages processed")
        broker.get_middleware(Events).flush(5000)
    errors = [r for r in caplog.records if "Could not publish events" in r.getMessage()]
    assert len(errors) == 1
    assert "event transport down" in errors[0].getMessage()


def test_a_subscriber_that_stops_reading_does_not_stall_the_worker(
    broker, queue_name, start_worker
):
    @taskq.actor(queue_name=queue_name)
    def noop(i: int) -> None:
        pass

    stalled = events.subscribe(broker)  # never read
    worker = start_worker(broker)
    count = 2000
    started = time.perf_counter()
    broker.enqueue_many([noop.message(i) for i in range(count)])
    broker.join(queue_name, timeout=60_000)
    worker.join()
    elapsed = time.perf_counter() - started
    assert worker.processed == count
    print(f"\n{count} messages with a stalled subscriber: {elapsed * 1000:.0f} ms")
    stalled.close()


def test_failed_and_dead_lettered_events_carry_the_whole_traceback(
    broker, queue_name, start_worker
):
    """A traceback far over the old 2 KiB cut (41 chained errors) arrives whole, first error
    to the last, in the failed event and in the dead-letter reason."""

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def deep(depth: int) -> None:
        try:
            if depth:
                deep.fn(depth - 1)
            else:
                raise KeyError("the bottom")
        except Exception as error:
            raise ValueError(f"level {depth}") from error

    with events.subscribe(broker) as subscription:
        start_worker(broker)
        message = deep.send(40)
        seen = events_of(subscription, message.message_id, "dead_lettered")
    failed = next(e for e in seen if e["event"] == "failed")
    text = failed["traceback"]
    assert len(text) > 4096
    assert text.startswith("Traceback (most recent call last):")
    assert "KeyError: 'the bottom'" in text
    assert all(f"ValueError: level {depth}\n" in text for depth in range(41))
    assert text.rstrip().endswith("ValueError: level 40")
    assert seen[-1]["reason"].rstrip().endswith("ValueError: level 40")
    assert "characters cut" not in text


def test_a_traceback_over_64_kib_keeps_its_start_and_its_error():
    text = "Traceback (most recent call last):\n" + "  frame\n" * 20_000 + "RecursionError: deep"
    kept = bounded_traceback(text)
    assert len(kept) < MAX_TRACEBACK_SIZE + 100
    assert kept.startswith("Traceback (most recent call last):")
    assert kept.endswith("RecursionError: deep")
    assert f"[... {len(text) - MAX_TRACEBACK_SIZE} characters cut ...]" in kept
    assert bounded_traceback("short") == "short"


def test_large_arguments_are_truncated_to_a_bounded_size():
    assert bounded([1, "two"]) == [1, "two"]
    big = bounded(["x" * 10_000], limit=100)
    assert isinstance(big, str) and len(big) <= 101


def test_taskq_events_env_adds_the_middleware_to_url_brokers(monkeypatch):
    monkeypatch.setenv("TASKQ_EVENTS", "1")
    assert broker_from_url("stub://").get_middleware(Events) is not None
    monkeypatch.setenv("TASKQ_EVENTS", "0")
    assert broker_from_url("stub://").get_middleware(Events) is None


def test_published_events_read_as_typed_records_and_back(broker, queue_name, start_worker):
    from taskq.events.schema import EventKind, EventRecord

    @taskq.actor(queue_name=queue_name)
    def noop() -> None:
        pass

    with events.subscribe(broker) as subscription:
        start_worker(broker)
        message = noop.send()
        seen = events_of(subscription, message.message_id, "succeeded")
    records = [EventRecord.from_dict(event) for event in seen]
    assert [r.kind for r in records] == [EventKind.ENQUEUED, EventKind.STARTED, EventKind.SUCCEEDED]
    assert {r.message_id for r in records} == {message.message_id}
    assert all(type(event["event"]) is str for event in seen)  # plain JSON strings on the wire
    assert [r.to_dict() for r in records] == seen
