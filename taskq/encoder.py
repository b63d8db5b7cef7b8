"""Message encoders. JSON is the default; pickle is only ever used when set explicitly."""

from __future__ import annotations

import json
import pickle
from typing import Any

from .errors import DecodeError

_orjson: Any
try:  # orjson is an optional speed-up, output is identical JSON
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

MessageData = dict[str, Any]


def dumps_lenient(value: Any) -> str:
    """JSON text of ``value`` for display (events, logs): what JSON cannot hold becomes its
    ``repr``. Uses orjson when installed."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, default=repr, option=_orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass  # e.g. integers wider than 64 bits: the standard library copes
    return json.dumps(value, default=repr)


def loads_json(text: str | bytes) -> Any:
    """Parse JSON text (orjson when installed)."""
    return _orjson.loads(text) if _orjson is not None else json.loads(text)


class Encoder:
    """Base class for message encoders: turn a message dict into bytes and back."""

    def encode(self, data: MessageData) -> bytes:  # pragma: no cover - interface
        """Encode ``data`` into bytes."""
        raise NotImplementedError

    def decode(self, data: bytes) -> MessageData:  # pragma: no cover - interface
        """Decode bytes into a message dict, raising :class:`DecodeError` on bad input."""
        raise NotImplementedError


class JSONEncoder(Encoder):
    """UTF-8 JSON, the wire format shared with Dramatiq and other languages."""

    def encode(self, data: MessageData) -> bytes:
        if _orjson is not None:
            try:
                return _orjson.dumps(data)
            except TypeError:
                pass  # fall through for the standard library's clearer error
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    def decode(self, data: bytes) -> MessageData:
        try:
            if _orjson is not None:
                return _orjson.loads(data)
            text = bytes(data).decode("utf-8") if not isinstance(data, str) else data
            return json.loads(text)
        except (ValueError, TypeError, RecursionError) as e:
            raise DecodeError(f"message is not valid UTF-8 JSON: {e}", data) from None


class PickleEncoder(Encoder):
    """Pickle: can run arbitrary code when decoding. Only for trusted brokers, opt-in."""

    def encode(self, data: MessageData) -> bytes:
        return pickle.dumps(data)

    def decode(self, data: bytes) -> MessageData:
        try:
            return pickle.loads(data)  # noqa: S301 - explicit opt-in
        except Exception as e:
            raise DecodeError(f"message is not a valid pickle: {e}", data) from None


_encoder: Encoder = JSONEncoder()


def get_encoder() -> Encoder:
    """Return the encoder used for messages (JSON unless :func:`set_encoder` was called)."""
    return _encoder


def set_encoder(encoder: Encoder) -> None:
    """Set the encoder used for all messages in this process."""
    global _encoder
    if not isinstance(encoder, Encoder):
        raise TypeError(f"set_encoder() expects an Encoder instance, got {type(encoder).__name__}")
    _encoder = encoder
