"""Scrape taskq's Prometheus endpoints and turn counters into rates and quantiles over time."""

from __future__ import annotations

import collections
import collections.abc
import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "taskq_"

LabelKey = tuple[str, str]  # (queue_name, actor_name)


Buckets = dict[float, float]  # upper bound (ms) -> cumulative count


@dataclass
class Scrape:
    """One scrape, summed over every endpoint: totals and duration histogram buckets per
    (queue, actor)."""

    at: float
    processed: dict[LabelKey, float] = field(default_factory=dict)
    errors: dict[LabelKey, float] = field(default_factory=dict)
    retries: dict[LabelKey, float] = field(default_factory=dict)
    in_progress: dict[LabelKey, float] = field(default_factory=dict)
    buckets: dict[LabelKey, Buckets] = field(default_factory=dict)


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
                    buckets = scrape.buckets.setdefault(key, {})
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
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
    """Points over the last ``size`` scrape intervals, for all actors together and for each
    (queue, actor) on its own."""

    def __init__(self, size: int = 150) -> None:
        self.size = size
        self.points: collections.deque[Point] = collections.deque(maxlen=size)
        self.label_points: dict[LabelKey, collections.deque[Point]] = {}
        self.per_label: dict[LabelKey, dict[str, float]] = {}
        self.last: Scrape | None = None

    def add(self, scrape: Scrape) -> Point | None:
        """Record a scrape; returns the new overall point (None for the first scrape)."""
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
        windows = {
            key: _window(scrape.buckets.get(key, {}), previous.buckets.get(key, {}))
            for key in keys | set(scrape.buckets)
        }
        for key in keys:
            values = self.per_label[key]
            points = self.label_points.setdefault(key, collections.deque(maxlen=self.size))
            points.append(_point(values, values["in_progress"], windows.get(key, {})))
        totals = {
            name: sum(v[name] for v in self.per_label.values())
            for name in ("processed", "errors", "retries")
        }
        point = _point(totals, sum(scrape.in_progress.values()), _sum_buckets(windows.values()))
        self.points.append(point)
        return point

    def series(self, name: str, label: LabelKey | None = None) -> list[float]:
        """Values of one series (a :class:`Point` field name), oldest first: of every actor
        together, or of the one ``(queue, actor)`` given."""
        points = self.points if label is None else self.label_points.get(label, ())
        return [getattr(p, name) for p in points]


def _window(now: Buckets, before: Buckets) -> Buckets:
    """The observations between two scrapes of cumulative buckets."""
    return {bound: max(0.0, count - before.get(bound, 0.0)) for bound, count in now.items()}


def _sum_buckets(all_buckets: collections.abc.Iterable[Buckets]) -> Buckets:
    total: Buckets = {}
    for buckets in all_buckets:
        for bound, count in buckets.items():
            total[bound] = total.get(bound, 0.0) + count
    return total


def _point(rates: dict[str, float], in_progress: float, window: Buckets) -> Point:
    return Point(
        processed=rates["processed"],
        errors=rates["errors"],
        retries=rates["retries"],
        in_progress=in_progress,
        p50=quantile(window, 0.5),
        p95=quantile(window, 0.95),
    )
