"""How a result or a failure is stored: Dramatiq's format, so both read each other's values.

A result is stored as it is (encoded by the backend's encoder); a failure as
``{"__t": "dramatiq.results.Result", "exn": {"type": ..., "msg": ...}}``. Reading a value
back either returns it or raises :class:`~taskq.results.ResultFailure`.
"""

from __future__ import annotations

from typing import Any

from .errors import ResultFailure

#: Marks a stored failure (the value Dramatiq writes, so its processes recognise ours too).
FAILURE_MARK = "dramatiq.results.Result"


def wrap_result(result: Any) -> Any:
    """The stored form of a result: the result itself."""
    return result


def wrap_exception(exception: BaseException) -> dict[str, Any]:
    """The stored form of a failure: the exception's type name and text."""
    return {"__t": FAILURE_MARK, "exn": {"type": type(exception).__name__, "msg": str(exception)}}


def unwrap_result(value: Any) -> Any:
    """The result a stored value holds; raises ResultFailure if it records a failure."""
    if isinstance(value, dict) and value.get("__t") == FAILURE_MARK:
        kind, text = value["exn"]["type"], value["exn"]["msg"]
        raise ResultFailure(f"actor raised {kind}: {text}", kind, text)
    return value
