"""Errors raised when fetching results."""

from __future__ import annotations

from ..errors import TaskqError
from ..middleware.middleware import NoResultsBackend

__all__ = [
    "NoResultsBackend",
    "ResultError",
    "ResultFailure",
    "ResultMissing",
    "ResultTimeout",
    "ResultsNotStored",
]


class ResultError(TaskqError):
    """Base class for result errors."""


class ResultMissing(ResultError):
    """The result is not there (yet, or any more: results expire after ``result_ttl``)."""


class ResultsNotStored(ResultMissing):
    """``get_result`` on a message whose actor does not store results: it would never come,
    so this is raised at once, even when blocking."""


class ResultTimeout(ResultError):
    """Blocking for a result ran out of time."""


class ResultFailure(ResultError):
    """The actor raised: ``orig_exc_type`` and ``orig_exc_msg`` say what it raised."""

    def __init__(self, message: str = "", orig_exc_type: str = "", orig_exc_msg: str = "") -> None:
        super().__init__(message)
        self.orig_exc_type = orig_exc_type
        self.orig_exc_msg = orig_exc_msg
