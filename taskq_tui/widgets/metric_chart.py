"""A labelled sparkline with the latest value."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Sparkline


class MetricChart(Horizontal):
    """``title  ▁▂▅▇  latest``; call :meth:`set_values` with the series, oldest first."""

    DEFAULT_CSS = """
    MetricChart .chart-title { width: 16; padding-top: 1; }
    MetricChart .chart-line { width: 1fr; height: 3; }
    MetricChart .chart-value { width: 12; padding-top: 1; text-align: right; }
    """

    def __init__(self, title: str, unit: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.unit = unit

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="chart-title")
        yield Sparkline([], summary_function=max, classes="chart-line")
        yield Label("-", classes="chart-value")

    def set_values(self, values: list[float]) -> None:
        """Show ``values``; the last one is printed on the right."""
        self.query_one(Sparkline).data = values
        latest = f"{values[-1]:.1f}{self.unit}" if values else "-"
        self.query_one(".chart-value", Label).update(latest)
