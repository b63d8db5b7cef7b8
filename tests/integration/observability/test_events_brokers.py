"""Lifecycle events on every broker kind (stub, sqlite, redis, rabbitmq via ``any_broker``)."""

from __future__ import annotations

import taskq
from taskq import events
from taskq.middleware.events import Events

from ...helpers import wait_for
from .events_helpers import EventLog, kinds


def test_success_failure_with_retry_and_dead_letter_sequences(any_broker, queue_name, start_worker):
    any_broker.add_middleware(Events())
    attempts: dict[str, int] = {}

    @taskq.actor(queue_name=queue_name, max_retries=1, min_backoff=10, max_backoff=10)
    def job(kind: str) -> str:
        attempts[kind] = attempts.get(kind, 0) + 1
        if kind == "flaky" and attempts[kind] == 1:
            raise ValueError("first attempt fails")
        if kind == "doomed":
            raise KeyError("always fails")
        return kind

    with events.subscribe(any_broker, queue=queue_name, timeout=200) as subscription:
        start_worker(any_broker)
        ok, flaky, doomed = job.send("ok"), job.send("flaky"), job.send("doomed")
        log = EventLog(subscription)
        ok_events = log.until(ok.message_id, "succeeded")
        flaky_events = log.until(flaky.message_id, "succeeded")
        doomed_events = log.until(doomed.message_id, "dead_lettered")

    assert kinds(ok_events) == ["enqueued", "started", "succeeded"]
    assert ok_events[0]["args"] == ["ok"]
    assert ok_events[2]["duration_ms"] >= 0
    assert kinds(flaky_events) == [
        "enqueued", "started", "failed", "retried", "started", "succeeded"
    ]  # fmt: skip
    failed = flaky_events[2]
    assert (failed["exception_type"], failed["exception"]) == ("ValueError", "first attempt fails")
    assert "ValueError" in failed["traceback"]
    assert flaky_events[3]["retries"] == 1
    assert flaky_events[4]["retries"] == 1
    assert kinds(doomed_events) == [
        "enqueued", "started", "failed", "retried", "started", "failed", "dead_lettered"
    ]  # fmt: skip
    assert "KeyError" in doomed_events[-1]["reason"]
    for event in ok_events + flaky_events + doomed_events:
        assert event["queue_name"] == queue_name
        assert event["actor_name"] == "job"
        assert isinstance(event["timestamp"], int)
        assert ":" in event["worker"]


def test_a_subscriber_that_never_reads_does_not_hold_up_the_worker(
    any_broker, queue_name, start_worker
):
    events_middleware = Events()
    any_broker.add_middleware(events_middleware)
    done: list[int] = []

    @taskq.actor(queue_name=queue_name)
    def work(i: int) -> None:
        done.append(i)

    stalled = events.subscribe(any_broker, timeout=100)  # subscribed, never read
    try:
        any_broker.enqueue_many([work.message(i) for i in range(100)])
        start_worker(any_broker)
        wait_for(lambda: len(done) == 100, timeout=60, message="100 messages processed")
        assert events_middleware.flush(10_000), "events still queued after 10 s"
        assert events_middleware.dropped == 0
    finally:
        stalled.close()
