"""Dramatiq's path for the Prometheus middleware; it lives in :mod:`taskq.metrics.prometheus`."""

from __future__ import annotations

from ..metrics.families import DURATION_BUCKETS, LABELS
from ..metrics.prometheus import Prometheus

__all__ = ["DURATION_BUCKETS", "LABELS", "Prometheus"]
