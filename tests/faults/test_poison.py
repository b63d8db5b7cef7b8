"""Poison input on every real broker: each bad message is dead-lettered with a reason that
says what is wrong, and the worker keeps processing the good messages around it."""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import taskq
from taskq.broker import Broker, _reset_global_broker
from tests.helpers import wait_for

pytestmark = pytest.mark.faults

KINDS = ["sqlite", "redis", "rabbitmq"]
HUGE = 10 * 1024 * 1024
NESTING = 100_000


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def factory(kind: str) -> Any:
    return importlib.import_module(f"tests.factories.{kind}")


@pytest.fixture
def broker(factory: Any) -> Iterator[Broker]:
    with factory.make_broker() as broker:
        taskq.set_broker(broker)
        try:
            yield broker
        finally:
            _reset_global_broker()


def wire(queue_name: str, **fields: Any) -> dict[str, Any]:
    """A valid wire-format message for the actor ``ok``, with ``fields`` replaced."""
    message = {
        "queue_name": queue_name,
        "actor_name": "ok",
        "args": [0],
        "kwargs": {},
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": 1_700_000_000_000,
    }
    message.update(fields)
    return message


def encoded(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def undecodable_payloads(queue_name: str) -> list[tuple[str, bytes, str]]:
    """(what, payload, expected reason fragment) for payloads no consumer may yield."""
    nested = b'{"queue_name": "%s", "actor_name": "ok", "args": ' % queue_name.encode()
    nested += b"[" * NESTING + b"]" * NESTING
    nested += b', "kwargs": {}, "options": {}, "message_id": "x", "message_timestamp": 1}'
    no_id = wire(queue_name)
    del no_id["message_id"]
    return [
        ("non-JSON bytes", b"\x00\x01\x02 certainly not JSON", "not valid UTF-8 JSON"),
        ("JSON array", b"[1, 2, 3]", "must be a JSON object, got list"),
        ("JSON string", b'"hello"', "must be a JSON object, got str"),
        ("args of the wrong type", encoded(wire(queue_name, args="1")), "'args' must be list"),
        ("missing message_id", encoded(no_id), "missing the field 'message_id'"),
        (
            "option of the wrong type",
            encoded(wire(queue_name, options={"time_limit": "soon"})),
            "option 'time_limit' must be a number",
        ),
        (f"JSON nested {NESTING} deep", nested, "not valid UTF-8 JSON"),
        (
            "invalid UTF-8",
            encoded(wire(queue_name, actor_name="ok")).replace(b'"ok"', b'"ok\xff\xfe"'),
            "UTF-8",
        ),
        ("10 MB of garbage", b"{" + b"x" * HUGE, "not valid UTF-8 JSON"),
    ]


def test_each_poison_message_is_dead_lettered_and_good_ones_run(
    broker: Broker, factory: Any, queue_name: str, start_worker: Any
) -> None:
    seen: list[Any] = []

    @taskq.actor(queue_name=queue_name, actor_name="ok", max_retries=0)
    def ok(value: Any) -> None:
        seen.append(value)

    bad = undecodable_payloads(queue_name)
    stranger = taskq.Message(queue_name=queue_name, actor_name="os.system", args=("true",))
    expected_good = []
    for i, (_, payload, _) in enumerate(bad):
        ok.send(i)
        expected_good.append(i)
        factory.push_raw(broker, queue_name, payload)
    broker.enqueue(stranger)
    ok.send("last")
    expected_good.append("last")
    start_worker(broker, worker_threads=2)

    wait_for(lambda: len(seen) >= len(expected_good), 60, message="the good messages")
    assert sorted(map(str, seen)) == sorted(map(str, expected_good))
    letters = wait_for(
        lambda: (
            (found := broker.dead_letter_messages(queue_name, limit=50))
            and len(found) >= len(bad) + 1
            and found
        ),
        timeout=60,
        message="every poison message dead-lettered",
    )
    assert len(letters) == len(bad) + 1
    by_raw = {bytes(letter.raw): letter for letter in letters if letter.message is None}
    for what, payload, reason in bad:
        letter = by_raw.get(payload)
        assert letter is not None, f"{what}: not dead-lettered"
        assert letter.reason and reason in letter.reason, (what, letter.reason)
        assert len(letter.reason) < 1000, f"{what}: the reason carries the payload"
    unknown = [letter for letter in letters if letter.message is not None]
    assert [letter.message_id for letter in unknown] == [stranger.message_id]
    assert unknown[0].reason == "unknown actor 'os.system'"


def test_huge_valid_message_runs_intact(broker: Broker, queue_name: str, start_worker: Any) -> None:
    lengths: list[int] = []

    @taskq.actor(queue_name=queue_name, actor_name="measure", max_retries=0)
    def measure(blob: str, n: int) -> None:
        lengths.append(len(blob) if n == 1 else n)

    measure.send("", 0)
    measure.send("y" * HUGE, 1)
    measure.send("", 2)
    start_worker(broker, worker_threads=1)
    wait_for(lambda: len(lengths) == 3, 60, message="all three messages")
    assert sorted(lengths) == [0, 2, HUGE]


def test_reused_message_id_runs_every_copy(
    broker: Broker, queue_name: str, start_worker: Any
) -> None:
    """A message id is not a deduplication key (Retries re-sends under the same id): every
    copy runs, and a copy that fails is dead-lettered without hiding the other."""
    seen: list[int] = []

    @taskq.actor(queue_name=queue_name, actor_name="ok", max_retries=0)
    def ok(value: int) -> None:
        if value < 0:
            raise ValueError(f"refusing {value}")
        seen.append(value)

    first = ok.message(1)
    broker.enqueue(first)
    broker.enqueue(first.copy(args=(2,)))
    broker.enqueue(first.copy(args=(-3,)))
    broker.enqueue(first.copy(args=(4,)))
    start_worker(broker, worker_threads=1)
    wait_for(lambda: len(seen) == 3, 60, message="every copy that can run")
    assert sorted(seen) == [1, 2, 4]
    letters = wait_for(lambda: broker.dead_letter_messages(queue_name), 30, message="letter")
    assert [(letter.message_id, letter.message.args) for letter in letters] == [
        (first.message_id, (-3,))
    ]
    assert "ValueError: refusing -3" in (letters[0].reason or "")
