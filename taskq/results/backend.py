"""The result backend interface: a small key/value store with TTLs and blocking reads."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from ..encoder import Encoder, JSONEncoder
from .errors import ResultFailure, ResultMissing, ResultTimeout

if TYPE_CHECKING:
    from ..message import Message

#: Default time to block in ``get_result(block=True)`` when no timeout is given (ms).
DEFAULT_TIMEOUT = 10_000
#: Default result time-to-live (ms).
DEFAULT_TTL = 600_000


class ResultBackend:
    """Stores actor results and failures under a key derived from the message.

    Subclasses implement ``_get``, ``_store``, ``_delete`` and ``increment``; those that can
    wait on the server (Redis) override ``_wait``; the default polls with a short back-off.
    """

    def __init__(self, *, namespace: str = "taskq-results", encoder: Encoder | None = None) -> None:
        self.namespace = namespace
        self.encoder = encoder or JSONEncoder()

    # -- what users call ------------------------------------------------------------------
    def build_message_key(self, message: Message[Any] | str) -> str:
        """The storage key of a message's result (accepts a message or a message id)."""
        message_id = message if isinstance(message, str) else message.message_id
        digest = hashlib.md5(f"{self.namespace}:{message_id}".encode()).hexdigest()
        return f"{self.namespace}:{digest}"

    def get_result(
        self, message: Message[Any] | str, *, block: bool = False, timeout: int | None = None
    ) -> Any:
        """Return the stored result; ``timeout`` in ms. Raises ResultMissing / ResultTimeout /
        ResultFailure (when the actor raised)."""
        key = self.build_message_key(message)
        if block:
            timeout = DEFAULT_TIMEOUT if timeout is None else timeout
            data = self._wait(key, timeout)
            if data is None:
                raise ResultTimeout(f"No result for {_describe(message)} within {timeout} ms")
        else:
            data = self._get(key)
            if data is None:
                raise ResultMissing(f"No result stored for {_describe(message)}")
        return self._unwrap(data)

    def store_result(self, message: Message[Any] | str, result: Any, ttl: int) -> None:
        """Store ``result`` for ``ttl`` ms."""
        self._store(self.build_message_key(message), self._encode_result(result), ttl)

    def store_exception(
        self, message: Message[Any] | str, exception: BaseException, ttl: int
    ) -> None:
        """Store a failure so that ``get_result`` raises ResultFailure."""
        self._store(self.build_message_key(message), self._encode_exception(exception), ttl)

    def has_result(self, message: Message[Any] | str) -> bool:
        """True if a result or failure is stored for the message."""
        return self._get(self.build_message_key(message)) is not None

    # -- the stored value: {"ok": result} or {"error": {"type": ..., "message": ...}} --------
    def _encode_result(self, result: Any) -> bytes:
        return self.encoder.encode({"ok": result})

    def _encode_exception(self, exception: BaseException) -> bytes:
        error = {"type": type(exception).__name__, "message": str(exception)}
        return self.encoder.encode({"error": error})

    def _unwrap(self, data: bytes) -> Any:
        payload = self.encoder.decode(data)
        if "error" in payload:
            error = payload["error"]
            raise ResultFailure(
                f"actor raised {error['type']}: {error['message']}", error["type"], error["message"]
            )
        return payload["ok"]

    # -- aborts (see taskq.abort) ---------------------------------------------------------
    def set_abort(self, message_id: str, ttl: int) -> None:
        """Mark ``message_id`` as aborted for ``ttl`` ms."""
        self._store(f"{self.namespace}:abort:{message_id}", b"1", ttl)

    def is_aborted(self, message_id: str) -> bool:
        """True if ``message_id`` was aborted."""
        return self._get(f"{self.namespace}:abort:{message_id}") is not None

    # -- storage primitives ---------------------------------------------------------------
    def _get(self, key: str) -> bytes | None:  # pragma: no cover - interface
        raise NotImplementedError

    def _store(self, key: str, value: bytes, ttl: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _delete(self, key: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def increment(self, key: str, amount: int, ttl: int) -> int:  # pragma: no cover - interface
        """Atomically add ``amount`` to the integer at ``key`` (created at 0); return the sum."""
        raise NotImplementedError

    def _wait(self, key: str, timeout: int) -> bytes | None:
        deadline = time.monotonic() + timeout / 1000
        pause = 0.001
        while True:
            data = self._get(key)
            if data is not None:
                return data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)


def _describe(message: Message[Any] | str) -> str:
    return f"message {message}" if isinstance(message, str) else f"{message} ({message.message_id})"
