"""Fixtures for the observability tests: an isolated Prometheus multiprocess directory."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

ENV_VARS = ("taskq_prom_db", "PROMETHEUS_MULTIPROC_DIR", "TASKQ_METRICS_MASTER_PID")


@pytest.fixture
def metrics_dir(tmp_path, monkeypatch) -> Iterator[str]:
    """Run :func:`taskq.metrics.exposition.setup_multiprocess_dir` on a temp dir, undoing it after."""
    pytest.importorskip("prometheus_client")
    from prometheus_client import values

    from taskq.metrics.exposition import setup_multiprocess_dir

    value_class = values.ValueClass
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("taskq_prom_db", str(tmp_path / "prom"))
    path = setup_multiprocess_dir()
    assert path is not None
    try:
        yield path
    finally:
        values.ValueClass = value_class
        for name in ENV_VARS:
            os.environ.pop(name, None)


def http_get(url: str) -> tuple[int, bytes]:
    """GET ``url``: (status, body), for error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Parse a /metrics page: {(sample name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    status, body = http_get(url)
    assert status == 200, body
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as Prometheus treats a missing series)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def health(url: str) -> tuple[int, dict[str, Any]]:
    status, body = http_get(url)
    return status, json.loads(body)
