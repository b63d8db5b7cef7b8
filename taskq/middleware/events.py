"""The Events middleware's documented path; it lives in :mod:`taskq.events.publisher`."""

from __future__ import annotations

from ..events.publisher import (
    MAX_FIELD_SIZE,
    MAX_TRACEBACK_SIZE,
    Events,
    bounded,
    bounded_traceback,
)

__all__ = ["MAX_FIELD_SIZE", "MAX_TRACEBACK_SIZE", "Events", "bounded", "bounded_traceback"]
