"""The result backend interface: a small key/value store with TTLs and blocking reads.

Two layers, so that backends written for Dramatiq work unchanged:

- **values** (Dramatiq's protocol): ``_get(key)`` returns the stored value, decoded, or
  :data:`Missing`; ``_store(key, value, ttl)`` encodes and stores a value. A subclass that
  implements only these two (as Dramatiq's backends do) is a complete backend.
- **bytes** (taskq's backends): ``_read(key)`` returns the encoded bytes or None,
  ``_write(key, data, ttl)`` stores them, ``increment`` keeps
  counters (groups use it), and ``_wait`` may block on the server instead of polling.
"""

from __future__ import annotations

import hashlib
import time
import typing
from typing import TYPE_CHECKING, Any, TypeAlias

from ..common import q_name
from ..constants import abort_key
from ..encoder import Encoder, get_encoder
from .errors import ResultMissing, ResultTimeout
from .result import unwrap_result, wrap_exception, wrap_result

if TYPE_CHECKING:
    from ..delivery import MessageProxy
    from ..message import Message

    #: What the methods that take a message accept: a message, a consumed one, or its id.
    MessageRef: TypeAlias = Message[Any] | MessageProxy | str

#: Default time to block in ``get_result(block=True)`` when no timeout is given (ms).
DEFAULT_TIMEOUT = 10_000
#: Default result time-to-live (ms).
DEFAULT_TTL = 600_000
#: The first pause (ms) between two reads of a backend that cannot block on the server; it
#: doubles after each read, up to :data:`MAX_POLL_INTERVAL`.
BACKOFF_FACTOR = 1
#: The longest pause (ms) between two reads while polling.
MAX_POLL_INTERVAL = 50

#: What a stored result may be (any value the encoder can encode), as Dramatiq names it.
Result = typing.Any
#: A stored value, or :data:`Missing`.
MResult = typing.Union[type[object], Result]  # noqa: UP007 - Dramatiq's alias, kept as is


class _MissingType:
    """The type of :data:`Missing`: one instance, false in a boolean context."""

    _instance: _MissingType | None = None

    def __new__(cls) -> _MissingType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "Missing"

    def __reduce__(self) -> str:
        return "Missing"


#: What ``_get`` returns when nothing is stored under a key (compare with ``is``).
Missing: Any = _MissingType()


class ResultBackend:
    """Stores actor results and failures under a key derived from the message.

    ``namespace`` prefixes every key; ``encoder`` encodes stored values (default: the message
    encoder, :func:`taskq.get_encoder`). Keys are ``{namespace}:{digest of the message id}``,
    so a bare message id finds a result; with ``use_namespace_prefix_keys=True`` they are
    Dramatiq's readable ``{namespace}:{queue}:{actor}:{message id}``, which needs the message.
    """

    def __init__(
        self,
        *,
        namespace: str = "taskq-results",
        encoder: Encoder | None = None,
        use_namespace_prefix_keys: bool = False,
    ) -> None:
        self.namespace = namespace
        self.encoder = encoder or get_encoder()
        self.use_namespace_prefix_keys = use_namespace_prefix_keys

    # -- what users call ------------------------------------------------------------------
    def build_message_key(self, message: MessageRef) -> str:
        """The storage key of a message's result (a message, or a message id)."""
        if self.use_namespace_prefix_keys:
            if isinstance(message, str):
                raise TypeError(
                    f"{type(self).__name__}(use_namespace_prefix_keys=True) needs the Message, "
                    f"not only its id {message!r}: the key names its queue and actor"
                )
            queue_name = q_name(message.queue_name)
            return f"{self.namespace}:{queue_name}:{message.actor_name}:{message.message_id}"
        message_id = message if isinstance(message, str) else message.message_id
        digest = hashlib.md5(f"{self.namespace}:{message_id}".encode()).hexdigest()
        return f"{self.namespace}:{digest}"

    def get_result(
        self, message: MessageRef, *, block: bool = False, timeout: int | None = None
    ) -> Any:
        """Return the stored result; ``timeout`` in ms (10 s by default). Raises ResultMissing
        (nothing stored, without ``block``), ResultTimeout (nothing stored within the timeout)
        or ResultFailure (the actor failed)."""
        key = self.build_message_key(message)
        if block:
            timeout = DEFAULT_TIMEOUT if timeout is None else timeout
            value = self._wait(key, timeout)
            if value is Missing:
                raise ResultTimeout(f"No result for {_describe(message)} within {timeout} ms")
        else:
            value = self._get(key)
            if value is Missing:
                raise ResultMissing(f"No result stored for {_describe(message)}")
        return self.unwrap_result(value)

    def store_result(self, message: MessageRef, result: Any, ttl: int) -> None:
        """Store ``result`` for ``ttl`` ms."""
        self._store(self.build_message_key(message), wrap_result(result), ttl)

    def store_exception(self, message: MessageRef, exception: BaseException, ttl: int) -> None:
        """Store a failure for ``ttl`` ms, so that ``get_result`` raises ResultFailure."""
        self._store(self.build_message_key(message), wrap_exception(exception), ttl)

    def has_result(self, message: MessageRef) -> bool:
        """True if a result or failure is stored for the message."""
        return self._get(self.build_message_key(message)) is not Missing

    def unwrap_result(self, res: Any) -> Any:
        """The result the stored value ``res`` holds (raises ResultFailure for a stored
        failure). Override it with ``store_result``/``store_exception`` to change the format."""
        return unwrap_result(res)

    # -- key/value: group fan-in (taskq.fan_in) and abort marks ----------------------------
    def put_value(self, key: str, value: Any, ttl: int) -> None:
        """Store ``value`` (any value the encoder takes) under ``key`` for ``ttl`` ms."""
        self._store(key, value, ttl)

    def get_value(self, key: str) -> Any:
        """The value stored under ``key``, or :data:`Missing` (which is falsy)."""
        return self._get(key)

    def set_abort(self, message_id: str, ttl: int) -> None:
        """Mark ``message_id`` as aborted for ``ttl`` ms."""
        self.put_value(abort_key(self.namespace, message_id), 1, ttl)

    def is_aborted(self, message_id: str) -> bool:
        """True if ``message_id`` was aborted."""
        return self.get_value(abort_key(self.namespace, message_id)) is not Missing

    # -- values: Dramatiq's protocol ------------------------------------------------------
    def _get(self, key: str) -> Any:
        """The value stored under ``key``, decoded, or :data:`Missing`."""
        return self._decode(self._read(key))

    def _store(self, key: str, value: Any, ttl: int) -> None:
        """Store ``value`` (encoded with ``self.encoder``) under ``key`` for ``ttl`` ms."""
        self._write(key, self.encoder.encode(value), ttl)

    def _wait(self, key: str, timeout: int) -> Any:
        """The value under ``key`` as soon as there is one, or Missing after ``timeout`` ms.
        This default polls ``_get`` (1 ms, doubling up to 50 ms between reads)."""
        deadline = time.monotonic() + timeout / 1000
        pause = BACKOFF_FACTOR / 1000
        while True:
            value = self._get(key)
            if value is not Missing:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Missing
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, MAX_POLL_INTERVAL / 1000)

    def _decode(self, data: bytes | None) -> Any:
        return Missing if data is None else self.encoder.decode(data)

    # -- bytes: what taskq's backends implement -------------------------------------------
    def _read(self, key: str) -> bytes | None:  # pragma: no cover - interface
        """The bytes stored under ``key``, or None."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _read nor _get")

    def _write(self, key: str, data: bytes, ttl: int) -> None:  # pragma: no cover - interface
        """Store ``data`` under ``key`` for ``ttl`` ms."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _write nor _store")

    def increment(self, key: str, amount: int, ttl: int) -> int:  # pragma: no cover - interface
        """Atomically add ``amount`` to the integer at ``key`` (created at 0); return the sum.
        The counter then lives ``ttl`` ms. Groups count finished members with it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement increment")


def _describe(message: MessageRef) -> str:
    return f"message {message}" if isinstance(message, str) else f"{message} ({message.message_id})"
