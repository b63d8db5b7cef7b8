"""Results: store and fetch what actors return.

The names of Dramatiq's ``dramatiq.results``, with the same meaning: the :class:`Results`
middleware, :class:`ResultBackend` and its :data:`Missing` canary, and the errors
``get_result`` raises. ``Result`` is the type of a stored result (any encodable value).
"""

from .backend import Missing, Result, ResultBackend
from .errors import ResultError, ResultFailure, ResultMissing, ResultTimeout
from .middleware import Results

__all__ = [
    "Missing",
    "Result",
    "ResultBackend",
    "ResultError",
    "ResultFailure",
    "ResultMissing",
    "ResultTimeout",
    "Results",
]
