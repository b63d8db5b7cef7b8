"""An in-memory result backend for tests and single-process programs."""

from __future__ import annotations

import threading
import time

from ..backend import ResultBackend


class StubBackend(ResultBackend):
    """Keeps results in a dict, with TTLs; blocking reads wake as soon as a result is stored."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.results: dict[str, tuple[bytes, float]] = {}
        self._changed = threading.Condition()

    def _get(self, key: str) -> bytes | None:
        entry = self.results.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires < time.monotonic():
            self.results.pop(key, None)
            return None
        return value

    def _store(self, key: str, value: bytes, ttl: int) -> None:
        with self._changed:
            self.results[key] = (value, time.monotonic() + ttl / 1000)
            self._changed.notify_all()

    def _delete(self, key: str) -> None:
        self.results.pop(key, None)

    def increment(self, key: str, amount: int, ttl: int) -> int:
        with self._changed:
            current = int(self._get(key) or 0) + amount
            self.results[key] = (str(current).encode(), time.monotonic() + ttl / 1000)
            return current

    def _wait(self, key: str, timeout: int) -> bytes | None:
        deadline = time.monotonic() + timeout / 1000
        with self._changed:
            while True:
                value = self._get(key)
                if value is not None:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def flush(self) -> None:
        """Forget every stored result."""
        self.results.clear()
