"""Metrics tab: rates and latency from the workers' Prometheus endpoints, over the last minutes."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from ..metrics_history import LabelKey, MetricsHistory, Scrape, parse_scrape
from ..widgets.metric_chart import MetricChart
from .base import TabView

CHARTS = [
    ("processed", "processed/s", "/s"),
    ("errors", "errors/s", "/s"),
    ("retries", "retries/s", "/s"),
    ("in_progress", "in progress", ""),
    ("p50", "duration p50", "ms"),
    ("p95", "duration p95", "ms"),
]


class MetricsView(TabView):
    """Scrapes every configured endpoint each poll interval; keeps 150 points (5 min at 2 s).
    The charts show every actor together, or the one whose row is selected (Enter)."""

    DEFAULT_CSS = """
    MetricsView #metrics-source { height: 1; color: $text-muted; padding: 0 1; }
    MetricsView #chart-scope { height: 1; padding: 0 1; text-style: bold; }
    MetricsView .chart { height: 3; padding: 0 1; }
    MetricsView #metrics-table { height: 1fr; }
    """

    MAIN = "#metrics-table"
    BINDINGS = [Binding("escape", "chart_all", "Chart all actors")]

    #: The (queue, actor) the charts show, or None for every actor together.
    charted: reactive[LabelKey | None] = reactive(None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history = MetricsHistory()

    def compose(self) -> ComposeResult:
        urls = ", ".join(self.context.config.metrics_urls)
        yield Static(f"Scraping {urls}", id="metrics-source")
        yield Static(id="chart-scope")
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
        if self.context.config.live:
            self.scrape()
            self.set_interval(self.context.config.poll_interval, self.scrape)

    @work(thread=True, exclusive=True, group="scrape")
    def scrape(self) -> None:
        """Fetch every endpoint (off the event loop) and add one point."""
        import httpx

        texts, errors = [], []
        for url in self.context.config.metrics_urls:
            try:
                response = httpx.get(url, timeout=1.5)
                response.raise_for_status()
                texts.append(response.text)
            except httpx.HTTPError as e:
                errors.append(f"{url}: {type(e).__name__}")
        scrape = parse_scrape(texts, self.context.config.clock())
        self.app.call_from_thread(self.add_scrape, scrape, errors)

    def add_scrape(self, scrape: Scrape, errors: list[str] | None = None) -> None:
        """Record a scrape and redraw (main thread; tests call it with fixed scrapes)."""
        self.history.add(scrape)
        if not self.query("#metrics-source"):  # scraped while the app closed
            return
        source = self.query_one("#metrics-source", Static)
        if errors:
            source.update(
                "[yellow]No metrics from " + "; ".join(errors) + "[/] — start workers with "
                "the Prometheus middleware (taskq worker ... exposes :9191)"
            )
        else:
            source.update(f"Scraping {', '.join(self.context.config.metrics_urls)}")
        self._draw_charts()
        table = self.query_one("#metrics-table", DataTable)
        under_cursor = _row_under_cursor(table)
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
                key=_row_key((queue, actor)),
            )
        if under_cursor is not None and under_cursor in table.rows:  # the cursor keeps its row
            table.move_cursor(row=table.get_row_index(under_cursor), animate=False)

    @on(DataTable.RowSelected, "#metrics-table")
    def chart_selected_row(self, event: DataTable.RowSelected) -> None:
        """Chart the selected row's actor on its own."""
        queue, _, actor = str(event.row_key.value).partition("\0")
        self.charted = (queue, actor)

    def action_chart_all(self) -> None:
        """Chart every actor together again."""
        self.charted = None

    def watch_charted(self) -> None:
        self._draw_charts()

    def _draw_charts(self) -> None:
        label = self.charted
        scope = "all actors" if label is None else f"{label[1]} on {label[0]}  (Esc: all actors)"
        self.query_one("#chart-scope", Static).update(f"Charts: {scope}")
        for name, _, _ in CHARTS:
            chart = self.query_one(f"#chart-{name}", MetricChart)
            chart.set_values(self.history.series(name, label))


def _row_key(label: LabelKey) -> str:
    return "\0".join(label)


def _row_under_cursor(table: DataTable[str]) -> str | None:
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
