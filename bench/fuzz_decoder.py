"""Fuzz the message decoder: ``taskq.Message.decode`` must turn any input into either a valid
Message or a :class:`taskq.errors.DecodeError`, never another exception.

Run: ``python -m bench.fuzz_decoder [--examples N] [--seed S]`` (hypothesis, default 20,000
examples per strategy). The property tests in ``tests/faults/test_decode_property.py`` use the
same checks with fewer examples.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from taskq.errors import DecodeError
from taskq.message import Message

#: Field names of the wire format, mixed into generated objects so many are nearly valid.
FIELDS = (
    "queue_name",
    "actor_name",
    "args",
    "kwargs",
    "options",
    "message_id",
    "message_timestamp",
)
OPTIONS = ("eta", "time_limit", "max_age", "max_retries", "retries", "pipe_target", "x")

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
#: Any JSON value (nested lists and objects).
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), children, max_size=8)
    ),
    max_leaves=30,
)


@st.composite
def message_like(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with some fields dropped or replaced by arbitrary JSON."""
    fields: dict[str, Any] = {
        "queue_name": draw(st.text(max_size=20)),
        "actor_name": draw(st.text(max_size=20)),
        "args": draw(st.lists(json_scalars, max_size=4)),
        "kwargs": draw(st.dictionaries(st.text(max_size=8), json_scalars, max_size=3)),
        "options": draw(st.dictionaries(st.sampled_from(OPTIONS), json_values, max_size=3)),
        "message_id": draw(st.uuids().map(str)),
        "message_timestamp": draw(st.integers(min_value=0, max_value=2**63)),
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            del fields[name]
        else:
            fields[name] = draw(json_values)
    return fields


def decode_checked(data: bytes) -> Message[Any] | None:
    """Decode ``data``: the Message, or None on DecodeError; any other exception fails
    (AssertionError)."""
    try:
        message = Message.decode(data)
    except DecodeError as e:
        assert str(e), "a DecodeError must say what is wrong"
        return None
    except Exception as e:  # the property under test
        raise AssertionError(f"decode({data[:80]!r}) raised {type(e).__name__}: {e}") from e
    assert isinstance(message, Message)
    assert isinstance(message.args, tuple) and isinstance(message.kwargs, dict)
    return message


def check_bytes(data: bytes) -> None:
    """The property on raw bytes (see :func:`decode_checked`)."""
    decode_checked(data)


def check_value(value: Any) -> None:
    """The property on ``value`` as JSON; a message that decodes must round-trip."""
    message = decode_checked(json.dumps(value).encode())
    if message is not None:
        again = Message.decode(message.encode())
        assert again.asdict() == message.asdict()


def run(examples: int, fuzz_seed: int | None) -> int:
    """Run every strategy for ``examples`` examples; returns the process exit code."""
    fuzz_settings = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    targets = {
        "bytes": given(st.binary(max_size=4096))(check_bytes),
        "json values": given(json_values)(check_value),
        "near-valid messages": given(message_like())(check_value),
    }
    failures = 0
    for name, target in targets.items():
        test = fuzz_settings(target)
        if fuzz_seed is not None:
            test = seed(fuzz_seed)(test)
        started = time.perf_counter()
        try:
            test()
        except Exception as e:
            failures += 1
            print(f"{name}: FAILED: {e}", file=sys.stderr)
            continue
        elapsed = time.perf_counter() - started
        print(f"{name}: {examples} examples OK in {elapsed:.1f} s")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_decoder", description=__doc__)
    parser.add_argument("--examples", type=int, default=20_000, help="examples per strategy")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run")
    args = parser.parse_args(argv)
    return run(args.examples, args.seed)


if __name__ == "__main__":
    sys.exit(main())
