"""Message: the JSON wire format, validation naming the bad field, copy/asdict/repr."""

from __future__ import annotations

import json
import uuid

import pytest

from taskq import DecodeError, Message
from taskq.common import current_millis, generate_unique_ids


def make_message(**overrides):
    fields = {"queue_name": "default", "actor_name": "add", "args": (1, 2), "kwargs": {"z": 3}}
    fields.update(overrides)
    return Message(**fields)


def test_encode_is_utf8_json_with_exactly_the_wire_fields():
    message = make_message(options={"max_retries": 2})
    data = json.loads(message.encode().decode("utf-8"))
    assert data == {
        "queue_name": "default",
        "actor_name": "add",
        "args": [1, 2],
        "kwargs": {"z": 3},
        "options": {"max_retries": 2},
        "message_id": message.message_id,
        "message_timestamp": message.message_timestamp,
    }
    assert uuid.UUID(message.message_id).version == 4
    assert abs(message.message_timestamp - current_millis()) < 60_000


def test_message_ids_are_canonical_distinct_uuid4_strings():
    ids = [make_message().message_id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for message_id in ids:
        parsed = uuid.UUID(message_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == message_id  # lower-case, dashed: what Dramatiq sends


def test_ids_made_in_bulk_are_distinct_uuid4_strings_too():
    ids = generate_unique_ids(2000) + generate_unique_ids(1)
    assert len(ids) == 2001 and len(set(ids)) == len(ids)
    for message_id in ids:
        parsed = uuid.UUID(message_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == message_id
    assert generate_unique_ids(0) == []


def test_copy_replaces_fields_and_never_shares_options():
    message = make_message(options={"max_retries": 2})
    copied = message.copy(queue_name="other")
    assert (copied.queue_name, copied.actor_name, copied.args) == ("other", "add", (1, 2))
    assert copied.message_id == message.message_id
    copied.options["max_retries"] = 5
    assert message.options == {"max_retries": 2}
    with pytest.raises(TypeError):
        message.copy(no_such_field=1)


def test_decode_round_trips():
    message = make_message(kwargs={"text": "héllo ✓"})
    assert Message.decode(message.encode()) == message


def test_decode_accepts_a_payload_written_by_another_producer():
    payload = {
        "queue_name": "q",
        "actor_name": "a",
        "args": [],
        "kwargs": {},
        "options": {},
        "message_id": "c1a8a76c-bd34-4dc6-9a29-4d4c5c0d7ff4",
        "message_timestamp": 1700000000000,
    }
    message = Message.decode(json.dumps(payload).encode())
    assert message.asdict() == payload


@pytest.mark.parametrize(
    "field",
    ["queue_name", "actor_name", "args", "kwargs", "options", "message_id", "message_timestamp"],
)
def test_decode_names_a_missing_field(field):
    data = make_message().asdict()
    del data[field]
    with pytest.raises(DecodeError) as info:
        Message.decode(json.dumps(data).encode())
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("queue_name", 1),
        ("actor_name", None),
        ("args", {"a": 1}),
        ("kwargs", []),
        ("options", "x"),
        ("message_id", 5),
        ("message_timestamp", "yesterday"),
        ("message_timestamp", True),
    ],
)
def test_decode_names_a_field_of_the_wrong_type(field, bad):
    data = make_message().asdict()
    data[field] = bad
    with pytest.raises(DecodeError) as info:
        Message.decode(json.dumps(data).encode())
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("payload", [b"not json", b"\xff\xfe", b"[1, 2]", b"", b"null"])
def test_decode_rejects_payloads_that_are_not_a_json_object(payload):
    with pytest.raises(DecodeError):
        Message.decode(payload)


def test_copy_replaces_attributes_and_does_not_share_options():
    message = make_message(options={"a": 1})
    copied = message.copy(queue_name="other")
    copied.options["b"] = 2
    assert copied.queue_name == "other"
    assert copied.message_id == message.message_id
    assert message.options == {"a": 1}


def test_asdict_lists_args_as_a_list():
    assert make_message().asdict()["args"] == [1, 2]


def test_copy_merges_the_options_it_is_given_as_in_dramatiq():
    message = make_message(options={"a": 1, "b": 2})
    copied = message.copy(options={"b": 3, "c": 4})
    assert copied.options == {"a": 1, "b": 3, "c": 4}
    assert message.options == {"a": 1, "b": 2}


def test_messages_keep_dramatiqs_namedtuple_era_methods():
    message = make_message()
    assert message._asdict() == message.asdict()
    assert message._fields == (
        "queue_name",
        "actor_name",
        "args",
        "kwargs",
        "options",
        "message_id",
        "message_timestamp",
    )
    assert message._field_defaults == {}
    replaced = message._replace(queue_name="other")
    assert (replaced.queue_name, replaced.message_id) == ("other", message.message_id)


def test_args_given_as_a_list_are_kept_as_a_tuple():
    assert make_message(args=[1, 2]).args == (1, 2)


def test_decode_accepts_args_pickled_as_a_tuple():
    from taskq.encoder import PickleEncoder

    data = PickleEncoder().encode({**make_message().asdict(), "args": (1, 2)})
    with_pickle = PickleEncoder().decode(data)
    assert Message.from_dict(with_pickle).args == (1, 2)


def test_a_bad_eta_is_left_for_the_worker_to_read_as_now():
    payload = make_message(options={"eta": "soon"}).encode()
    assert Message.decode(payload).options["eta"] == "soon"


def test_str_reads_like_a_call_and_repr_shows_the_fields():
    message = make_message()
    assert str(message) == "add(1, 2, z=3)"
    assert "actor_name='add'" in repr(message)
    assert message.message_id in repr(message)


def test_a_custom_encoder_failing_to_decode_raises_decode_error():
    from taskq.encoder import JSONEncoder, get_encoder, set_encoder

    class Picky(JSONEncoder):
        def decode(self, data):
            raise RuntimeError("no thanks")

    previous = get_encoder()
    set_encoder(Picky())
    try:
        with pytest.raises(DecodeError, match="no thanks") as info:
            Message.decode(make_message().encode())
    finally:
        set_encoder(previous)
    assert isinstance(info.value.error, RuntimeError)
