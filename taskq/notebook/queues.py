"""``queues()``: a small live panel of queue depths and live workers."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ._env import widgets_available
from ._render import html_table, text_table

if TYPE_CHECKING:
    from ..broker import Broker

_COLUMNS = ("ready", "delayed", "in_flight", "dead")


class QueuesPanel:
    """Queue depths (ready, delayed, in flight, dead) and the workers seen by their heartbeats.

    In Jupyter it refreshes every ``interval`` ms in a background thread until ``close()`` (or
    its Stop button); elsewhere it prints one rich table. ``refresh()`` reads the broker now.
    """

    def __init__(self, broker: Broker, *, interval: int = 1000) -> None:
        self.broker = broker
        self.interval = interval / 1000
        self.stats: dict[str, dict[str, int]] = {}
        self.workers: list[dict[str, Any]] = []
        self.error: str | None = None
        self.updated_at: float | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._widget: Any = None
        self.refresh()

    def refresh(self) -> QueuesPanel:
        """Read queue stats and worker heartbeats from the broker now."""
        try:
            self.stats = self.broker.queue_stats()
            self.workers = self.broker.worker_heartbeats()
            self.error = None
        except Exception as e:  # show the problem in the panel rather than killing the thread
            self.error = f"{type(e).__name__}: {e}"
        self.updated_at = time.time()
        if self._widget is not None:
            self._widget.redraw()
        return self

    def show(self) -> QueuesPanel:
        """Display the panel: a live widget in Jupyter, one table in a terminal."""
        if widgets_available():
            from ._widget_views import QueuesWidget

            self._widget = QueuesWidget(self)
            self._thread = threading.Thread(target=self._run, name="taskq-queues", daemon=True)
            self._thread.start()
        else:
            from rich.console import Console

            Console(stderr=True).print(self.rich_table())
        return self

    def close(self) -> None:
        """Stop refreshing; the panel keeps its last numbers as static HTML."""
        self._stopped.set()
        if self._widget is not None:
            self._widget.redraw(final=True)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.refresh()

    def _rows(self) -> list[list[str]]:
        return [
            [name, *(str(stats.get(c, 0)) for c in _COLUMNS)]
            for name, stats in sorted(self.stats.items())
        ]

    def _worker_rows(self) -> list[list[str]]:
        now = time.time() * 1000
        rows = []
        for worker in self.workers:
            seen = worker.get("last_seen")
            ago = f"{(now - seen) / 1000:.1f}s ago" if isinstance(seen, int | float) else "?"
            rows.append([str(worker.get("worker_id", "?")), ago])
        return rows

    def to_html(self) -> str:
        """Two tables (queues, workers) as static HTML."""
        error = f"<div style='color:#dc2626'>{self.error}</div>" if self.error else ""
        queues = html_table(["queue", *_COLUMNS], self._rows(), caption="taskq queues")
        workers = html_table(
            ["worker", "last seen"],
            self._worker_rows(),
            caption=f"{len(self.workers)} live worker(s)",
        )
        return error + queues + workers

    def to_text(self) -> str:
        """The same tables as text."""
        return (
            text_table(["queue", *_COLUMNS], self._rows())
            + f"\n\n{len(self.workers)} live worker(s)\n"
            + text_table(["worker", "last seen"], self._worker_rows())
        )

    def rich_table(self) -> Any:
        """The queue table as a rich Table (for terminals)."""
        from rich.table import Table

        table = Table(title=f"taskq queues · {len(self.workers)} live worker(s)")
        for column in ("queue", *_COLUMNS):
            table.add_column(column, justify="left" if column == "queue" else "right")
        for row in self._rows():
            table.add_row(*row)
        return table

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.to_text(), "text/html": self.to_html()}
