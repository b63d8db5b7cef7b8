"""Scrape taskq's Prometheus endpoints and turn counters into rates and quantiles over time."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "taskq_"
SERIES = ["processed/s", "errors/s", "retries/s", "in progress", "p50 ms", "p95 ms"]

LabelKey = tuple[str, str]  # (queue_name, actor_name)


@dataclass
class Scrape:
    """One scrape, summed over every endpoint: totals per (queue, actor) and histogram buckets."""

    at: float
    processed: dict[LabelKey, float] = field(default_factory=dict)
    errors: dict[LabelKey, float] = field(default_factory=dict)
    retries: dict[LabelKey, float] = field(default_factory=dict)
    in_progress: dict[LabelKey, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=dict)


_TARGETS = {
    "taskq_messages": "processed",
    "taskq_message_errors": "errors",
    "taskq_message_retries": "retries",
    "taskq_messages_inprogress": "in_progress",
}


def parse_scrape(texts: list[str], at: float) -> Scrape:
    """Parse the Prometheus text of each endpoint into one summed :class:`Scrape`."""
    scrape = Scrape(at)
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key: LabelKey = (
                    sample.labels.get("queue_name", "?"),
                    sample.labels.get("actor_name", "?"),
                )
                name = sample.name
                if name.endswith("_total"):
                    name = name[: -len("_total")]
                target = _TARGETS.get(name)
                if target is not None:
                    series = getattr(scrape, target)
                    series[key] = series.get(key, 0.0) + sample.value
                elif name == "taskq_message_duration_milliseconds_bucket":
                    bound = float(sample.labels.get("le", "inf"))
                    scrape.buckets[bound] = scrape.buckets.get(bound, 0.0) + sample.value
    return scrape


def quantile(buckets: dict[float, float], q: float) -> float:
    """Estimate quantile ``q`` from cumulative histogram buckets (linear within a bucket)."""
    if not buckets:
        return 0.0
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return 0.0
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            span = count - previous_count
            fraction = (rank - previous_count) / span if span else 1.0
            return previous_bound + (bound - previous_bound) * fraction
        previous_bound, previous_count = bound, count
    return previous_bound


@dataclass(frozen=True)
class Point:
    """One point per series, computed from two consecutive scrapes."""

    processed: float
    errors: float
    retries: float
    in_progress: float
    p50: float
    p95: float


class MetricsHistory:
    """Rates over the last ``size`` scrape intervals, overall and per (queue, actor)."""

    def __init__(self, size: int = 150) -> None:
        self.points: collections.deque[Point] = collections.deque(maxlen=size)
        self.per_label: dict[LabelKey, dict[str, float]] = {}
        self.last: Scrape | None = None

    def add(self, scrape: Scrape) -> Point | None:
        """Record a scrape; returns the new point (None for the first scrape)."""
        previous, self.last = self.last, scrape
        if previous is None:
            return None
        elapsed = max(scrape.at - previous.at, 1e-6)

        def rate(now: dict[LabelKey, float], before: dict[LabelKey, float], key: LabelKey) -> float:
            return max(0.0, now.get(key, 0.0) - before.get(key, 0.0)) / elapsed

        keys = set(scrape.processed) | set(scrape.errors) | set(scrape.in_progress)
        self.per_label = {
            key: {
                "processed": rate(scrape.processed, previous.processed, key),
                "errors": rate(scrape.errors, previous.errors, key),
                "retries": rate(scrape.retries, previous.retries, key),
                "in_progress": scrape.in_progress.get(key, 0.0),
                "total": scrape.processed.get(key, 0.0),
            }
            for key in keys
        }
        window = {b: max(0.0, c - previous.buckets.get(b, 0.0)) for b, c in scrape.buckets.items()}
        point = Point(
            processed=sum(v["processed"] for v in self.per_label.values()),
            errors=sum(v["errors"] for v in self.per_label.values()),
            retries=sum(v["retries"] for v in self.per_label.values()),
            in_progress=sum(scrape.in_progress.values()),
            p50=quantile(window, 0.5),
            p95=quantile(window, 0.95),
        )
        self.points.append(point)
        return point

    def series(self, name: str) -> list[float]:
        """Values of one series (a :class:`Point` field name), oldest first."""
        return [getattr(p, name) for p in self.points]
