"""Results: store and fetch what actors return."""

from .backend import ResultBackend
from .errors import ResultError, ResultFailure, ResultMissing, ResultTimeout
from .middleware import Results

__all__ = [
    "ResultBackend",
    "ResultError",
    "ResultFailure",
    "ResultMissing",
    "ResultTimeout",
    "Results",
]
