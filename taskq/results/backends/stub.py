"""An in-memory result backend for tests and single-process programs."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..backend import Missing, ResultBackend


class StubBackend(ResultBackend):
    """Keeps results in a dict, with TTLs; blocking reads wake as soon as a result is stored.

    Takes the keywords of every backend (``namespace``, ``encoder``,
    ``use_namespace_prefix_keys``). Each instance has its own results.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results: dict[str, tuple[bytes, float]] = {}
        self._changed = threading.Condition()

    def _read(self, key: str) -> bytes | None:
        entry = self.results.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires < time.monotonic():
            self.results.pop(key, None)
            return None
        return value

    def _write(self, key: str, data: bytes, ttl: int) -> None:
        with self._changed:
            self.results[key] = (data, time.monotonic() + ttl / 1000)
            self._changed.notify_all()

    def increment(self, key: str, amount: int, ttl: int) -> int:
        with self._changed:
            current = int(self._read(key) or 0) + amount
            self.results[key] = (str(current).encode(), time.monotonic() + ttl / 1000)
            return current

    def _wait(self, key: str, timeout: int) -> Any:
        deadline = time.monotonic() + timeout / 1000
        with self._changed:
            while True:
                data = self._read(key)
                if data is not None:
                    return self._decode(data)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Missing
                self._changed.wait(remaining)

    def flush(self) -> None:
        """Forget every stored result."""
        self.results.clear()
