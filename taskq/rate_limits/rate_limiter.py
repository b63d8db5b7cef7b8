"""The rate limiter base class: ``with limiter.acquire(): ...``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import RateLimitExceeded
from .backend import RateLimiterBackend


class RateLimiter:
    """Guards a block of code with a shared limit stored under ``key`` in ``backend``.

    >>> with limiter.acquire(raise_on_failure=False) as acquired:
    ...     if not acquired:
    ...         return  # over the limit: try later
    """

    def __init__(self, backend: RateLimiterBackend, key: str) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"A rate limiter key must be a non-empty string, got {key!r}")
        self.backend = backend
        self.key = key

    def _acquire(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def _release(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @contextmanager
    def acquire(self, *, raise_on_failure: bool = True) -> Iterator[bool]:
        """Take a slot for the duration of the ``with`` block.

        Over the limit, raise :class:`RateLimitExceeded` (the worker then retries the message
        without logging an error), or with ``raise_on_failure=False`` yield False instead.
        """
        acquired = False
        try:
            acquired = self._acquire()
            if raise_on_failure and not acquired:
                raise RateLimitExceeded(f"rate limit exceeded for key {self.key!r}")
            yield acquired
        finally:
            if acquired:
                self._release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backend!r}, {self.key!r})"


def check_positive(name: str, value: int) -> int:
    """Return ``value`` or raise ``ValueError`` naming the parameter."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value
