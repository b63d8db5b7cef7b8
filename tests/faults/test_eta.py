"""One meaning for ``eta`` on a ready queue, on every broker (issue 26): a message written by
another producer with an ``eta`` ahead is held until due and runs once; an absurd ``eta``
(negative, not finite, centuries ahead) is dead-lettered with a reason naming it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import taskq
from taskq.common import current_millis, dq_name
from taskq.eta import MAX_ETA_AHEAD_MS, judge_eta
from tests.helpers import wait_for

pytestmark = pytest.mark.faults

#: How far ahead the held message's eta lies (ms).
AHEAD_MS = 1500


def raw(queue_name: str, value: Any, eta: Any) -> bytes:
    """A wire-format message for the actor ``stamp`` with ``options.eta``, as any producer
    (another language, a hand-written script) might put it on the ready queue."""
    message = {
        "queue_name": queue_name,
        "actor_name": "stamp",
        "args": [value],
        "kwargs": {},
        "options": {"eta": eta},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": current_millis(),
    }
    return json.dumps(message).encode()


def test_eta_on_a_ready_queue_is_held_or_dead_lettered(
    any_broker: taskq.Broker, push_raw: Any, queue_name: str, start_worker: Any
) -> None:
    ran: dict[str, list[int]] = {}

    @taskq.actor(queue_name=queue_name, actor_name="stamp", max_retries=0)
    def stamp(value: str) -> None:
        ran.setdefault(value, []).append(current_millis())

    due = current_millis() + AHEAD_MS
    absurd = {"negative": -1, "float 1e300": 1e300, "10**18": 10**18}
    push_raw(any_broker, queue_name, raw(queue_name, "held", due))
    push_raw(any_broker, queue_name, raw(queue_name, "past", current_millis() - 60_000))
    for name, eta in absurd.items():
        push_raw(any_broker, queue_name, raw(queue_name, name, eta))
    start_worker(any_broker, worker_threads=2)

    wait_for(lambda: "held" in ran and "past" in ran, 60, message="the held and the due message")
    letters = wait_for(
        lambda: (
            (found := any_broker.dead_letter_messages(queue_name)) and len(found) >= 3 and found
        ),
        30,
        message="the absurd etas dead-lettered",
    )
    assert len(ran["held"]) == 1 and ran["held"][0] >= due, (ran["held"], due)
    assert len(ran["past"]) == 1
    assert not set(absurd) & set(ran), ran
    reasons = {letter.message.args[0]: letter.reason or "" for letter in letters if letter.message}
    assert sorted(reasons) == sorted(absurd)
    for name, eta in absurd.items():
        assert f"message option 'eta' is {eta!r}" in reasons[name], reasons[name]


@pytest.mark.parametrize(
    ("eta", "action"),
    [
        (None, "run"),
        ("soon", "run"),  # not a number: Dramatiq's meaning, "now" (with a warning)
        (0, "run"),
        (1_000, "run"),
        (1_000 + 1, "hold"),
        (1_000 + MAX_ETA_AHEAD_MS, "hold"),
        (1_000 + MAX_ETA_AHEAD_MS + 1, "dead"),
        (-1, "dead"),
        (float("nan"), "dead"),
        (float("inf"), "dead"),
        (10**18, "dead"),
    ],
)
def test_judge_eta(eta: Any, action: str) -> None:
    verdict = judge_eta(eta, now=1_000)
    assert verdict.action == action
    assert (verdict.reason is not None) == (action == "dead")
    if action == "hold":
        assert verdict.delay == eta - 1_000


def test_an_absurd_eta_on_a_delay_queue_is_dead_lettered_too(
    broker_kind: str,
    any_broker: taskq.Broker,
    push_raw: Any,
    queue_name: str,
    start_worker: Any,
) -> None:
    if broker_kind == "sqlite":
        pytest.skip("SQLite has no delay queue: a delayed row waits in its own queue")
    ran: list[str] = []

    @taskq.actor(queue_name=queue_name, actor_name="stamp", max_retries=0)
    def stamp(value: str) -> None:
        ran.append(value)

    push_raw(any_broker, dq_name(queue_name), raw(queue_name, "negative", -5))
    stamp.send_with_options(args=("delayed",), delay=50)
    start_worker(any_broker, worker_threads=1)
    wait_for(lambda: ran == ["delayed"], 30, message="the valid delayed message")
    letters = wait_for(
        lambda: any_broker.dead_letter_messages(queue_name), 30, message="the dead letter"
    )
    assert [letter.message.args[0] for letter in letters if letter.message] == ["negative"]
    assert "message option 'eta' is -5" in (letters[0].reason or "")


def test_a_delay_beyond_the_maximum_is_refused_when_sent(stub_broker: taskq.Broker) -> None:
    @taskq.actor
    def later() -> None:
        pass

    with pytest.raises(ValueError, match="more than the 366 days"):
        later.send_with_options(delay=MAX_ETA_AHEAD_MS + 1)
    with pytest.raises(ValueError, match="more than the 366 days"):
        later.send_with_options(delay=float("inf"))
    later.send_with_options(delay=MAX_ETA_AHEAD_MS)
    assert stub_broker.queue_stats()[later.queue_name]["delayed"] == 1
