"""The message: Dramatiq's JSON wire format, with validation on the way in."""

from __future__ import annotations

import html
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .common import current_millis, generate_unique_id
from .display import shorten
from .encoder import get_encoder, set_encoder
from .errors import DecodeError
from .global_broker import get_broker

if TYPE_CHECKING:
    from .composition import pipeline
    from .results import ResultBackend

R = TypeVar("R")

__all__ = ["Message", "get_encoder", "set_encoder"]

_FIELD_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("queue_name", str),
    ("actor_name", str),
    ("args", (list, tuple)),  # a list in JSON; Dramatiq's PickleEncoder keeps the tuple
    ("kwargs", dict),
    ("options", dict),
    ("message_id", str),
    ("message_timestamp", int),
)
_FIELD_NAMES = tuple(name for name, _ in _FIELD_TYPES)
#: Options that hold a number (ms or a count): refused on the way in when of another type, so
#: the message is dead-lettered with the reason instead of tripping a middleware on every try.
#: (``eta`` is judged by the worker instead, see :mod:`taskq.eta`.)
_NUMERIC_OPTIONS = frozenset(
    ("time_limit", "max_age", "max_retries", "min_backoff", "max_backoff", "retries")
)


@dataclass(frozen=True, slots=True)
class Message(Generic[R]):
    """An actor invocation on its way through a broker.

    Fields are exactly the wire format's: ``queue_name``, ``actor_name``, ``args``, ``kwargs``,
    ``options``, ``message_id`` (UUID4) and ``message_timestamp`` (UNIX ms).
    """

    queue_name: str
    actor_name: str
    args: tuple[Any, ...] = field(default_factory=tuple)
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    message_id: str = field(default_factory=generate_unique_id)
    message_timestamp: int = field(default_factory=current_millis)

    def __post_init__(self) -> None:
        if type(self.args) is not tuple:  # Message(args=[...]) still holds a tuple
            object.__setattr__(self, "args", tuple(self.args))

    def __or__(self, other: Any) -> pipeline:
        from .composition import pipeline

        return pipeline([self, other])

    def asdict(self) -> dict[str, Any]:
        """Return the message as a plain dict, in wire-format field order."""
        return {
            "queue_name": self.queue_name,
            "actor_name": self.actor_name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "options": self.options,
            "message_id": self.message_id,
            "message_timestamp": self.message_timestamp,
        }

    def _asdict(self) -> dict[str, Any]:
        """The same as :meth:`asdict` (Dramatiq's namedtuple-era name)."""
        return self.asdict()

    @property
    def _fields(self) -> tuple[str, ...]:
        """The wire-format field names, in order (namedtuple-era API)."""
        return _FIELD_NAMES

    @property
    def _field_defaults(self) -> dict[str, Any]:
        """Fields with a plain default value (namedtuple-era API)."""
        return {f.name: f.default for f in fields(self) if f.default is not MISSING}

    def _replace(self, **changes: Any) -> Message[R]:
        """A copy with ``changes`` applied, options included as given (namedtuple-era API)."""
        return replace(self, **changes)

    def encode(self) -> bytes:
        """Encode the message with the current encoder (JSON by default)."""
        return get_encoder().encode(self.asdict())

    @classmethod
    def decode(cls, data: bytes) -> Message[Any]:
        """Decode and validate ``data``; raise :class:`DecodeError` naming the bad field."""
        try:
            fields = get_encoder().decode(data)
        except DecodeError:
            raise
        except Exception as e:  # a custom encoder failing in its own way
            raise DecodeError(f"Failed to decode message: {e!r}", data, e) from e
        return cls.from_dict(fields, data)

    @classmethod
    def from_dict(cls, fields: Any, data: Any = None) -> Message[Any]:
        """Build a message from a decoded dict, validating every wire-format field."""
        if not _plainly_valid(fields):
            _check_fields(fields, data)
        return cls(
            queue_name=fields["queue_name"],
            actor_name=fields["actor_name"],
            args=tuple(fields["args"]),
            kwargs=fields["kwargs"],
            options=fields["options"],
            message_id=fields["message_id"],
            message_timestamp=fields["message_timestamp"],
        )

    def copy(self, **attributes: Any) -> Message[R]:
        """Return a copy with ``attributes`` replaced. ``options`` is a new dict, never shared:
        the message's options updated with the ``options`` given, as in Dramatiq."""
        values: dict[str, Any] = {
            "queue_name": self.queue_name,
            "actor_name": self.actor_name,
            "args": self.args,
            "kwargs": self.kwargs,
            "options": self.options,
            "message_id": self.message_id,
            "message_timestamp": self.message_timestamp,
        }
        new_options = attributes.pop("options", None)
        values.update(attributes)  # an unknown name fails in the constructor, as in replace()
        values["options"] = {**self.options, **new_options} if new_options else dict(self.options)
        return type(self)(**values)

    def get_result(
        self,
        *,
        backend: ResultBackend | None = None,
        block: bool = False,
        timeout: int | None = None,
    ) -> R:
        """Fetch this message's result; ``timeout`` in milliseconds (default 10 s when blocking).

        Raises ``ResultMissing``, ``ResultTimeout`` or ``ResultFailure``, and at once
        ``ResultsNotStored`` when the actor is known to store no results.
        """
        if backend is None:
            broker = get_broker()
            backend = broker.get_results_backend()
            results = broker.get_results_middleware()
            if results is not None:
                results.check_stores_results(broker, self)
        return backend.get_result(self, block=block, timeout=timeout)

    @property
    def message_datetime(self) -> datetime:
        """The enqueue time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.message_timestamp / 1000, tz=UTC)

    def __str__(self) -> str:
        params = ", ".join(repr(a) for a in self.args)
        if self.kwargs:
            params += (", " if params else "") + ", ".join(
                f"{k}={v!r}" for k, v in self.kwargs.items()
            )
        return f"{self.actor_name}({params})"

    def __lt__(self, other: Message[Any]) -> bool:
        return (self.message_timestamp, self.message_id) < (
            other.message_timestamp,
            other.message_id,
        )

    def _repr_html_(self) -> str:
        fields = self.asdict()
        fields["message_timestamp"] = (
            f"{self.message_timestamp} ({self.message_datetime.isoformat()})"
        )
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'><code>{html.escape(v if isinstance(v, str) else repr(v))}</code></td></tr>"
            for k, v in fields.items()
        )
        caption = html.escape(shorten(str(self), 80))
        return f"<table><caption>taskq.Message: {caption}</caption>{rows}</table>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        lines = [f"taskq.Message {shorten(str(self), 80)}"]
        lines += [f"  {k}: {v!r}" for k, v in self.asdict().items() if k not in ("args", "kwargs")]
        return {"text/plain": "\n".join(lines), "text/html": self._repr_html_()}


def __getattr__(name: str) -> Any:
    # Dramatiq keeps the encoder in a module global; reading it gives the current encoder.
    if name == "global_encoder":
        return get_encoder()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plainly_valid(fields: Any) -> bool:
    """Whether ``fields`` is a message as JSON decodes one, every field of its exact type and no
    numeric option present: the common case, checked in one pass (:func:`_check_fields` judges
    the rest and names what is wrong)."""
    try:
        return (
            type(fields["queue_name"]) is str
            and type(fields["actor_name"]) is str
            and type(fields["args"]) is list
            and type(fields["kwargs"]) is dict
            and type(fields["message_id"]) is str
            and type(fields["message_timestamp"]) is int
            and type(options := fields["options"]) is dict
            and (not options or options.keys().isdisjoint(_NUMERIC_OPTIONS))
        )
    except (KeyError, TypeError):
        return False


def _check_fields(fields: Any, data: Any) -> None:
    """Raise :class:`DecodeError` naming the first field of ``fields`` that is missing or of
    the wrong type."""
    if not isinstance(fields, dict):
        raise DecodeError(f"message must be a JSON object, got {type(fields).__name__}", data, None)
    for name, kind in _FIELD_TYPES:
        if name not in fields:
            raise DecodeError(f"message is missing the field {name!r}", data, name)
        value = fields[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = "list" if isinstance(kind, tuple) else kind.__name__
            raise DecodeError(
                f"message field {name!r} must be {expected}, got {type(value).__name__}",
                data,
                name,
            )
    options = fields["options"]
    for name in sorted(options.keys() & _NUMERIC_OPTIONS) if options else ():
        value = options[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise DecodeError(
                f"message option {name!r} must be a number, got {type(value).__name__}",
                data,
                f"options.{name}",
            )
