"""The tracker behind watch(): events and stored results, in whichever order they arrive."""

from __future__ import annotations

import taskq
from taskq.notebook.tracker import Tracker


def test_succeeded_event_waits_for_the_stored_value(stub_broker: taskq.Broker) -> None:
    backend = stub_broker.get_results_backend()
    message = taskq.Message(queue_name="default", actor_name="add", args=(1, 2))
    tracker = Tracker([message], stub_broker)
    event = {"event": "succeeded", "message_id": message.message_id, "result": "3"}

    tracker.apply_event({"event": "started", "message_id": message.message_id})
    tracker.apply_event(event)  # the event overtook the result on its way to the backend

    assert not tracker.rows[message.message_id].done
    backend.store_result(message, 3, ttl=60_000)
    assert tracker.wait(timeout=30_000)
    row = tracker.snapshot()[0]
    assert (row.status, row.result) == ("succeeded", 3)


def test_failures_retries_and_dead_letters_from_events(stub_broker: taskq.Broker) -> None:
    retried, dead = (taskq.Message(queue_name="default", actor_name="f") for _ in range(2))
    tracker = Tracker([retried, dead], stub_broker)

    tracker.apply_event(
        {
            "event": "failed",
            "message_id": dead.message_id,
            "exception_type": "KeyError",
            "exception": "'x'",
        }
    )
    tracker.apply_event({"event": "retried", "message_id": retried.message_id})
    tracker.apply_event({"event": "enqueued", "message_id": retried.message_id})  # late: ignored
    assert tracker.counts()["retrying"] == 2 and not tracker.done

    tracker.apply_event({"event": "dead_lettered", "message_id": dead.message_id})
    stub_broker.get_results_backend().store_result(retried, "ok", ttl=60_000)

    assert tracker.wait(timeout=30_000)
    rows = {row.message_id: row for row in tracker.snapshot()}
    assert (rows[dead.message_id].status, rows[dead.message_id].error) == (
        "failed",
        "KeyError: 'x'",
    )
    assert (rows[retried.message_id].status, rows[retried.message_id].result) == ("succeeded", "ok")
    assert tracker.counts() == {
        "queued": 0,
        "started": 0,
        "retrying": 0,
        "succeeded": 1,
        "failed": 1,
        "skipped": 0,
    }
