"""Property: decoding anything at all either yields a valid Message or raises DecodeError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_decoder import check_bytes, check_value, json_values, message_like

pytestmark = pytest.mark.faults

#: Kept small for CI time; ``python -m bench.fuzz_decoder`` runs thousands.
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    check_bytes(data)


@PROPERTY_SETTINGS
@given(json_values)
def test_arbitrary_json_values_decode_or_raise_decode_error(value: Any) -> None:
    check_value(value)


@PROPERTY_SETTINGS
@given(message_like())
def test_near_valid_messages_decode_or_raise_decode_error(fields: dict[str, Any]) -> None:
    check_value(fields)


def test_checks_catch_a_decoder_that_leaks_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property is not vacuous: a decoder raising KeyError is reported."""
    from taskq.message import Message

    def leaky(data: bytes) -> Any:
        raise KeyError("queue_name")

    monkeypatch.setattr(Message, "decode", classmethod(lambda cls, data: leaky(data)))
    with pytest.raises(AssertionError, match="KeyError"):
        check_bytes(json.dumps({"a": 1}).encode())
