"""MessageIndex: events fold into one record per message (no broker, no app)."""

from __future__ import annotations

from typing import Any

from taskq_tui.message_index import MessageFilter, MessageIndex


def event(kind: str, at: int, message_id: str = "m1", **extra: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "message_id": message_id,
        "queue_name": "q",
        "actor_name": "work",
        "timestamp": at,
        "worker": "host:1",
        **extra,
    }


def test_a_retried_message_is_one_record_whose_status_follows_its_last_event() -> None:
    index = MessageIndex()
    index.extend([event("enqueued", 10, args=[1], kwargs={"k": 2}), event("started", 11)])
    record = index.get("m1")
    assert record is not None and record.status == "running"
    index.extend(
        [
            event("failed", 20, exception_type="ValueError", exception="bad", traceback="TB"),
            event("retried", 20, retries=1),  # same millisecond: sorts after the failure
        ]
    )
    assert record.status == "retried" and record.retries == 1
    index.extend([event("started", 30), event("succeeded", 31, duration_ms=1, result="7")])
    assert len(index) == 1
    assert record.status == "succeeded" and record.result == "7"
    assert (record.args, record.kwargs) == ([1], {"k": 2})
    assert record.error == "ValueError: bad" and record.traceback == "TB"
    assert [e["event"] for e in record.events] == [
        "enqueued",
        "started",
        "failed",
        "retried",
        "started",
        "succeeded",
    ]


def test_a_late_enqueued_event_does_not_move_the_status_back() -> None:
    index = MessageIndex()
    index.extend([event("started", 11, args=["a"]), event("succeeded", 12)])
    index.extend([event("enqueued", 10, args=["a"])])  # the producer's event, late
    record = index.get("m1")
    assert record is not None and record.status == "succeeded"
    assert [e["event"] for e in record.events] == ["enqueued", "started", "succeeded"]


def test_abort_shows_as_aborted_and_dead_letters_keep_their_reason() -> None:
    index = MessageIndex()
    index.extend([event("started", 1), event("failed", 2, exception_type="Abort")])
    index.extend(
        [event("started", 1, "m2"), event("dead_lettered", 3, "m2", reason="TB\nKeyError: x")]
    )
    assert index.get("m1").status == "aborted"  # type: ignore[union-attr]
    dead = index.get("m2")
    assert dead is not None and dead.status == "dead" and dead.error == "KeyError: x"


def test_changes_are_logged_and_the_oldest_messages_evicted() -> None:
    index = MessageIndex(capacity=3)
    index.extend([event("enqueued", i, f"m{i}", args=[i]) for i in range(3)])
    version = index.version
    index.extend([event("started", 5, "m1"), event("enqueued", 6, "m3", args=[3])])
    changed = index.changed_since(version)
    assert changed is not None
    assert [r.message_id for r in changed] == ["m1", "m0", "m3"]  # m0 evicted for m3
    assert index.get("m0") is None and len(index) == 3
    assert index.changed_since(index.version) == []


def test_newest_matches_search_and_fields() -> None:
    index = MessageIndex()
    index.extend([event("enqueued", i, f"m{i}", args=[f"order-{i}"]) for i in range(30)])
    found = index.newest(MessageFilter(text="ORDER-2"), 5)
    assert [r.message_id for r in found] == ["m25", "m26", "m27", "m28", "m29"]
    assert index.newest(MessageFilter(status="queued", text="order-2"), 50)[0].message_id == "m2"
    assert index.newest(MessageFilter(actor="other"), 5) == []
    assert index.oldest_waiting() == {"q": 0}
