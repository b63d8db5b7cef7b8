"""Metrics tab: rates and latency from the workers' Prometheus endpoints, over the last minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..metrics_history import MetricsHistory, Scrape, parse_scrape
from ..widgets.metric_chart import MetricChart

if TYPE_CHECKING:
    from ..app import TaskqApp

CHARTS = [
    ("processed", "processed/s", "/s"),
    ("errors", "errors/s", "/s"),
    ("retries", "retries/s", "/s"),
    ("in_progress", "in progress", ""),
    ("p50", "duration p50", "ms"),
    ("p95", "duration p95", "ms"),
]


class MetricsView(Vertical):
    """Scrapes every configured endpoint each poll interval; keeps 150 points (5 min at 2 s)."""

    TAB = "metrics"
    BINDINGS: list[Any] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = MetricsHistory()

    @property
    def tui(self) -> TaskqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        urls = ", ".join(self.tui.config.metrics_urls)
        yield Static(f"Scraping {urls}", id="metrics-source")
        for name, title, unit in CHARTS:
            yield MetricChart(title, unit, id=f"chart-{name}", classes="chart")
        table: DataTable[str] = DataTable(id="metrics-table", cursor_type="row")
        for label, width in (
            ("Queue", 20),
            ("Actor", 24),
            ("processed/s", 11),
            ("errors/s", 9),
            ("retries/s", 9),
            ("in prog", 8),
            ("total", 10),
        ):
            table.add_column(label, width=width)
        yield table

    def on_mount(self) -> None:
        if self.tui.config.live:
            self.scrape()
            self.set_interval(self.tui.config.poll_interval, self.scrape)

    @work(thread=True, exclusive=True, group="scrape")
    def scrape(self) -> None:
        """Fetch every endpoint (off the event loop) and add one point."""
        import httpx

        texts, errors = [], []
        for url in self.tui.config.metrics_urls:
            try:
                response = httpx.get(url, timeout=1.5)
                response.raise_for_status()
                texts.append(response.text)
            except httpx.HTTPError as e:
                errors.append(f"{url}: {type(e).__name__}")
        scrape = parse_scrape(texts, self.tui.config.clock())
        self.app.call_from_thread(self.add_scrape, scrape, errors)

    def add_scrape(self, scrape: Scrape, errors: list[str] | None = None) -> None:
        """Record a scrape and redraw (main thread; tests call it with fixed scrapes)."""
        self.history.add(scrape)
        source = self.query_one("#metrics-source", Static)
        if errors:
            source.update(
                "[yellow]No metrics from " + "; ".join(errors) + "[/] — start workers with "
                "the Prometheus middleware (taskq worker ... exposes :9191)"
            )
        else:
            source.update(f"Scraping {', '.join(self.tui.config.metrics_urls)}")
        for name, _, _ in CHARTS:
            self.query_one(f"#chart-{name}", MetricChart).set_values(self.history.series(name))
        table = self.query_one("#metrics-table", DataTable)
        table.clear()
        for (queue, actor), values in sorted(self.history.per_label.items()):
            table.add_row(
                queue,
                actor,
                f"{values['processed']:.1f}",
                f"{values['errors']:.1f}",
                f"{values['retries']:.1f}",
                f"{values['in_progress']:.0f}",
                f"{values['total']:.0f}",
            )
