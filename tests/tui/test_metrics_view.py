"""Metrics tab: scrapes parsed per actor, and charts of one actor on its own (Enter on its row,
Esc for all actors)."""

from __future__ import annotations

from typing import Any

import pytest

import taskq
from taskq.brokers.stub import StubBroker
from taskq_tui.app import TaskqApp
from taskq_tui.broker_link import BrokerLink
from taskq_tui.config import TuiConfig
from taskq_tui.metrics_history import MetricsHistory, Scrape, parse_scrape
from taskq_tui.views.metrics import MetricsView
from taskq_tui.widgets.metric_chart import MetricChart

from .pilot_helpers import wait_until

prom = pytest.importorskip("prometheus_client")

BOUNDS = [5.0, 10.0, 25.0, 50.0, 100.0, float("inf")]
FAST, SLOW = ("emails", "send_email"), ("reports", "build_report")


def test_a_real_exposition_is_parsed_per_actor(stub_broker, queue_name, start_worker):
    from taskq.middleware.prometheus import Prometheus

    prometheus = Prometheus()
    stub_broker.add_middleware(prometheus)

    @taskq.actor(queue_name=queue_name)
    def ping() -> None:
        pass

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def fail() -> None:
        raise ValueError("no")

    for _ in range(3):
        ping.send()
    fail.send()
    start_worker(stub_broker)
    stub_broker.join(queue_name, fail_fast=False)

    text = prom.generate_latest(prometheus.registry).decode()
    scrape = parse_scrape([text, text], at=0.0)  # two endpoints with the same counts

    assert scrape.processed == {(queue_name, "ping"): 6.0, (queue_name, "fail"): 2.0}
    assert scrape.errors[(queue_name, "fail")] == 2.0
    assert scrape.buckets[(queue_name, "ping")][float("inf")] == 6.0
    assert scrape.buckets[(queue_name, "fail")][float("inf")] == 2.0


def counts(at: float, step: int) -> Scrape:
    """FAST does 10 messages/s of ~3 ms, SLOW 2/s of ~40 ms; scrapes are 2 s apart."""
    fast, slow = 20.0 * step, 4.0 * step
    return Scrape(
        at=at,
        processed={FAST: fast, SLOW: slow},
        errors={FAST: 0.0, SLOW: float(step)},
        retries={},
        in_progress={FAST: 1.0, SLOW: 2.0},
        buckets={
            FAST: dict(zip(BOUNDS, [fast] * 6, strict=True)),
            SLOW: dict(zip(BOUNDS, [0, 0, 0, slow, slow, slow], strict=True)),
        },
    )


def test_history_keeps_each_actor_apart_and_sums_them():
    history = MetricsHistory()
    for step in range(4):
        history.add(counts(step * 2.0, step))

    assert history.series("processed", FAST) == [10.0] * 3
    assert history.series("processed", SLOW) == [2.0] * 3
    assert history.series("processed") == [12.0] * 3
    assert history.series("errors", SLOW) == [0.5] * 3
    assert history.series("in_progress") == [3.0] * 3
    assert all(0 < p <= 5 for p in history.series("p50", FAST))
    assert all(25 < p <= 50 for p in history.series("p50", SLOW))
    assert history.series("processed", ("nowhere", "nobody")) == []


def latest(app: TaskqApp, chart: str) -> str:
    return str(app.query_one(f"#chart-{chart}", MetricChart).query_one(".chart-value").content)


@pytest.mark.anyio
async def test_enter_on_a_row_charts_that_actor_and_esc_charts_all_again() -> None:
    config = TuiConfig(broker_url="stub://", live=False, metrics_urls=["http://127.0.0.1:9/m"])
    app = TaskqApp(config, BrokerLink(config.broker_url, broker=StubBroker()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.focused is not None, message="initial focus")
        await pilot.press("3")
        table: Any = app.query_one("#metrics-table")
        await wait_until(pilot, lambda: table.has_focus, message="the metrics table")
        view = app.query_one(MetricsView)
        for step in range(4):
            view.add_scrape(counts(step * 2.0, step))
        await pilot.pause()
        assert latest(app, "processed") == "12.0/s"

        await pilot.press("down", "enter")  # rows are sorted: emails, then reports
        await wait_until(pilot, lambda: view.charted == SLOW, message="SLOW charted")
        assert "build_report on reports" in str(app.query_one("#chart-scope").content)
        assert latest(app, "processed") == "2.0/s"
        assert latest(app, "errors") == "0.5/s"
        view.add_scrape(counts(8.0, 4))  # a new scrape keeps the chosen actor and the cursor
        await pilot.pause()
        assert latest(app, "processed") == "2.0/s" and table.cursor_row == 1

        await pilot.press("escape")
        await wait_until(pilot, lambda: view.charted is None, message="all actors again")
        assert latest(app, "processed") == "12.0/s"
        assert str(app.query_one("#chart-scope").content) == "Charts: all actors"
