"""Encoders: JSON by default; pickle only when set explicitly, never guessed from a payload."""

from __future__ import annotations

import pickle

import pytest

import taskq
from taskq import DecodeError, JSONEncoder, Message, PickleEncoder, get_encoder, set_encoder

from ..helpers import wait_for

UNPICKLED = []


def _side_effect():
    UNPICKLED.append(True)
    return "unpickled"


class Payload:
    def __reduce__(self):
        return (_side_effect, ())


@pytest.fixture
def restore_encoder():
    before = get_encoder()
    yield
    set_encoder(before)


def test_json_is_the_default_encoder():
    assert isinstance(get_encoder(), JSONEncoder)


def test_json_encoder_rejects_pickle_bytes_without_unpickling_them():
    data = pickle.dumps({"payload": Payload()})
    with pytest.raises(DecodeError):
        JSONEncoder().decode(data)
    assert UNPICKLED == []


def test_a_pickled_message_on_a_queue_is_dead_lettered_not_unpickled(
    stub_broker, queue_name, start_worker
):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def record(x):
        ran.append(x)

    stub_broker.enqueue_raw(queue_name, pickle.dumps({"payload": Payload()}))
    start_worker(stub_broker)
    wait_for(lambda: stub_broker.dead_letter_messages(queue_name), message="a dead letter")
    (letter,) = stub_broker.dead_letter_messages(queue_name)
    assert letter.message is None
    assert "JSON" in letter.reason
    assert UNPICKLED == [] and ran == []


def test_pickle_encoder_round_trips_when_set_explicitly(restore_encoder):
    set_encoder(PickleEncoder())
    message = Message(queue_name="q", actor_name="a", args=(b"bytes", {1, 2}))
    data = message.encode()
    assert Message.decode(data).args == (b"bytes", {1, 2})


def test_pickle_encoder_reports_garbage_as_a_decode_error():
    with pytest.raises(DecodeError):
        PickleEncoder().decode(b"not a pickle")


def test_set_encoder_rejects_things_that_are_not_encoders(restore_encoder):
    with pytest.raises(TypeError, match="Encoder"):
        set_encoder(pickle)  # type: ignore[arg-type]
    assert isinstance(get_encoder(), JSONEncoder)
