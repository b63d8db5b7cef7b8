"""The metric families taskq exports: their names, kinds, help texts and labels, declared once
for the workers that write them (:mod:`taskq.metrics.prometheus`) and the master that serves
them (:mod:`taskq.metrics.exposition`)."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

LABELS = ("queue_name", "actor_name")

#: Histogram buckets of ``taskq_message_duration_milliseconds`` (ms).
DURATION_BUCKETS = (
    5, 10, 25, 50, 75, 100, 250, 500, 750, 1_000, 2_500, 5_000, 7_500, 10_000, 30_000, 60_000,
    600_000, 900_000, float("inf"),
)  # fmt: skip


class Family(NamedTuple):
    """One metric family the middleware exports: its name, kind, help text and options."""

    name: str
    kind: str  # "counter", "gauge" or "histogram"
    documentation: str
    options: dict[str, Any] = {}

    def create(self, registry: Any) -> Any:
        """The labelled metric, registered in ``registry``."""
        import prometheus_client as prom

        kinds = {"counter": prom.Counter, "gauge": prom.Gauge, "histogram": prom.Histogram}
        return kinds[self.kind](
            self.name, self.documentation, LABELS, registry=registry, **self.options
        )


#: Every metric family of the middleware. The ``taskq worker`` master's ``/metrics`` names
#: each of them from its first scrape, before any worker process has written a sample.
FAMILIES = (
    Family("taskq_messages_total", "counter", "Messages processed."),
    Family("taskq_message_errors_total", "counter", "Messages whose actor raised."),
    Family("taskq_message_retries_total", "counter", "Messages scheduled for a retry."),
    Family("taskq_message_rejects_total", "counter", "Messages dead-lettered."),
    Family(
        "taskq_messages_inprogress",
        "gauge",
        "Messages being processed.",
        {"multiprocess_mode": "livesum"},
    ),
    Family(
        "taskq_delayed_messages_inprogress",
        "gauge",
        "Delayed messages held in worker memory.",
        {"multiprocess_mode": "livesum"},
    ),
    Family(
        "taskq_message_duration_milliseconds",
        "histogram",
        "Time spent processing messages (ms).",
        {"buckets": DURATION_BUCKETS},
    ),
)


def enable_multiprocess_values() -> None:
    """Make metrics created from now on write to ``PROMETHEUS_MULTIPROC_DIR``.

    prometheus_client picks its value class when first imported; if it was imported before
    the directory was set (by application code, say), switch it now.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.get_value_class()
