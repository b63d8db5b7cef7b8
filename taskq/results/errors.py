"""Errors raised when fetching results."""

from __future__ import annotations

from ..errors import TaskqError
from ..middleware.middleware import MiddlewareError


class ResultError(TaskqError):
    """Base class for result errors."""


class ResultMissing(ResultError):
    """The result is not there (yet, or any more: results expire after ``result_ttl``)."""


class ResultTimeout(ResultError):
    """Blocking for a result ran out of time."""


class ResultFailure(ResultError):
    """The actor raised: ``orig_exc_type`` and ``orig_exc_msg`` say what it raised."""

    def __init__(self, message: str = "", orig_exc_type: str = "", orig_exc_msg: str = "") -> None:
        super().__init__(message)
        self.orig_exc_type = orig_exc_type
        self.orig_exc_msg = orig_exc_msg


class NoResultsBackend(MiddlewareError, RuntimeError):
    """The broker has no Results middleware, so there is no backend to read results from (a
    RuntimeError, as Dramatiq raises when its broker has no results backend)."""
