"""Dramatiq's path for the Prometheus middleware; it lives in :mod:`taskq.metrics.prometheus`."""

from __future__ import annotations

from ..metrics.prometheus import DURATION_BUCKETS, LABELS, Prometheus

__all__ = ["DURATION_BUCKETS", "LABELS", "Prometheus"]
