"""``watch()``: follow messages live, as a widget in Jupyter or a rich progress bar elsewhere."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ..global_broker import get_broker
from ._env import widgets_available
from ._render import (
    counts_html,
    counts_text,
    format_elapsed,
    html_table,
    progress_bar_html,
    shorten,
    status_badge,
    text_table,
    value_text,
)
from .rows import Row, messages_of
from .tracker import Tracker

if TYPE_CHECKING:
    from ..broker import Broker

#: Rows shown in the live table (most recently changed first); the static table shows more.
LIVE_ROWS = 20
STATIC_ROWS = 100


class Watch:
    """A live view of messages on their way to completion.

    In Jupyter (with ipywidgets) it shows a progress bar, counts by status, elapsed time and a
    table of message id → status → result or error, updated from a background thread; elsewhere a
    rich progress bar in the terminal. ``wait(timeout=ms)`` blocks, ``await watch.wait_async()``
    (or ``await watch``) does not; ``close()`` stops early. Once finished, the output left in the
    notebook is static HTML, so a saved notebook shows the final table anywhere.
    """

    def __init__(
        self, target: Any, *, broker: Broker | None = None, poll_interval: int = 200
    ) -> None:
        if broker is None:
            broker = getattr(target, "broker", None)
        if broker is None:
            broker = get_broker()
        self.tracker = Tracker(messages_of(target), broker, poll_interval=poll_interval)
        self._view: Any = None

    # -- results ---------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once every message finished (succeeded, failed or skipped)."""
        return self.tracker.done

    @property
    def counts(self) -> dict[str, int]:
        """Non-zero message counts by status."""
        return {k: v for k, v in self.tracker.counts().items() if v}

    @property
    def rows(self) -> list[Row]:
        """One row per message, in the order given: id, label, status, result, error."""
        return self.tracker.snapshot()

    @property
    def results(self) -> dict[str, Any]:
        """message id → result, for the messages that succeeded."""
        return {r.message_id: r.result for r in self.rows if r.status == "succeeded"}

    @property
    def errors(self) -> dict[str, str]:
        """message id → error text, for the messages that failed."""
        return {r.message_id: r.error or "failed" for r in self.rows if r.status == "failed"}

    def to_dataframe(self) -> Any:
        """The messages as a pandas DataFrame, one row per message in the order given: id,
        actor, args, kwargs, status, result, error, started, finished (UTC timestamps) and
        duration_ms. Needs pandas (``pip install pandas``).

        Start and finish times come from the workers' lifecycle events; on RabbitMQ (no event
        history) a message that finished before this watch subscribed has no start time and
        its finish time is when the watch read its result."""
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError as e:
            raise ImportError(
                "Watch.to_dataframe() needs pandas, which is not installed: pip install pandas "
                "(or use Watch.to_records() for plain dicts)"
            ) from e
        if self.tracker.done:
            self.tracker.wait_settled()  # start and finish times may still be arriving
        rows = self.rows
        return pd.DataFrame(
            {
                "id": [r.message_id for r in rows],
                "actor": [r.actor for r in rows],
                "args": [r.args for r in rows],
                "kwargs": [r.kwargs for r in rows],
                "status": [r.status for r in rows],
                "result": pd.Series([r.result for r in rows], dtype=object),
                "error": [r.error for r in rows],
                "started": pd.to_datetime([r.started for r in rows], unit="ms", utc=True),
                "finished": pd.to_datetime([r.finished for r in rows], unit="ms", utc=True),
                "duration_ms": pd.array([r.duration_ms for r in rows], dtype="Int64"),
            }
        )

    def to_records(self) -> list[dict[str, Any]]:
        """The table as a list of dicts (``pandas.DataFrame(watch.to_records())``)."""
        return [
            {
                "message_id": r.message_id,
                "call": r.label,
                "status": r.status,
                "result": r.result,
                "error": r.error,
            }
            for r in self.rows
        ]

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, timeout: int | None = None) -> bool:
        """Block until every message finished (True) or ``timeout`` ms passed (False)."""
        finished = self.tracker.wait(timeout)
        self._refresh_view(final=finished)
        return finished

    async def wait_async(self, timeout: int | None = None) -> bool:
        """Like :meth:`wait` without blocking the event loop (or the notebook kernel)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout / 1000
        while not self.tracker.done and not self.tracker.stopped:
            if deadline is not None and loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        self._refresh_view(final=self.tracker.done)
        return self.tracker.done

    def __await__(self) -> Generator[Any, None, bool]:
        return self.wait_async().__await__()

    def close(self) -> None:
        """Stop watching now; the view keeps its last state as static HTML."""
        self.tracker.stop()
        self._refresh_view(final=True)
        if self._view is not None:
            self._view.close()

    # -- showing ---------------------------------------------------------------------------
    def show(self) -> Watch:
        """Start tracking and display the live view (widget or terminal)."""
        if self._view is None:
            if widgets_available():
                from ._widget_views import WatchWidget

                self._view = WatchWidget(self)
            else:
                self._view = TerminalView(self)
            self.tracker.add_listener(self._refresh_view)
        self.tracker.start()
        return self

    def _refresh_view(self, final: bool = False) -> None:
        if self._view is not None:
            self._view.refresh(final=final or self.tracker.stopped)

    def summary_text(self) -> str:
        """``12/20 finished · succeeded 11 · failed 1 · 3.2s``."""
        t = self.tracker
        return (
            f"{t.finished_count()}/{t.total} finished · {counts_text(t.counts())} · "
            f"{_pace(t)}{format_elapsed(t.elapsed())}"
        )

    def header_html(self) -> str:
        """One line: state, finished/total, counts by status and elapsed time."""
        t = self.tracker
        state = "done" if t.done else ("stopped" if t.stopped else "running")
        return (
            f"<div><b>taskq watch</b> ({state}): {t.finished_count()}/{t.total} finished · "
            f"{counts_html(t.counts())} · {_pace(t)}{format_elapsed(t.elapsed())}</div>"
        )

    def failures_html(self, *, limit: int = LIVE_ROWS) -> str:
        """One line per failed message; its traceback opens on a click (``<details>``)."""
        failed = [r for r in self.rows if r.status == "failed"]
        lines = [
            "<details style='font-family:monospace;font-size:12px'><summary>"
            f"<span style='color:#dc2626'>✗</span> {html.escape(r.message_id[:8])} "
            f"{html.escape(shorten(r.label, 60))}: "
            f"{html.escape(shorten((r.error or 'failed').splitlines()[-1], 100))}</summary>"
            f"<pre style='white-space:pre-wrap'>{html.escape(r.traceback or r.error or '')}</pre>"
            "</details>"
            for r in failed[:limit]
        ]
        if len(failed) > limit:
            lines.append(f"<div>… and {len(failed) - limit} more failures</div>")
        return "".join(lines)

    def table_html(self, *, limit: int = STATIC_ROWS, live: bool = False) -> str:
        """The message table: most recently changed first when ``live``, else failures first."""
        rows = self.rows
        if live:
            rows.sort(key=lambda r: -r.changed_at)
        else:
            rows.sort(key=lambda r: r.status != "failed")
        shown = rows[:limit]
        table = html_table(
            ["message id", "call", "status", "result / error"],
            (
                [
                    html.escape(r.message_id),
                    html.escape(shorten(r.label)),
                    status_badge(r.status),
                    _outcome_html(r),
                ]
                for r in shown
            ),
            escape=False,
        )
        more = f"<div>… and {len(rows) - len(shown)} more</div>" if len(rows) > len(shown) else ""
        return table + more

    def to_html(self, *, limit: int = STATIC_ROWS, live: bool = False) -> str:
        """The view as static HTML: summary, progress bar and table (failures first)."""
        t = self.tracker
        return (
            self.header_html()
            + progress_bar_html(t.finished_count(), t.total)
            + self.failures_html()
            + self.table_html(limit=limit, live=live)
        )

    def to_text(self, *, limit: int = LIVE_ROWS) -> str:
        """The view as a text table."""
        rows = self.rows[:limit]
        table = text_table(
            ["message id", "call", "status", "result / error"],
            ([r.message_id, shorten(r.label, 40), r.status, _outcome_text(r)] for r in rows),
        )
        return self.summary_text() + "\n" + table

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.to_text(), "text/html": self.to_html()}

    def __repr__(self) -> str:
        return f"<taskq Watch {self.summary_text()}>"


def _pace(tracker: Any) -> str:
    """``85.3/s · ETA 4.1s · `` while running, ``85.3/s · `` once done, else nothing."""
    rate = tracker.rate()
    if rate <= 0:
        return ""
    eta = tracker.eta()
    if tracker.stopped or eta is None:
        return f"{rate:.1f}/s · "
    return f"{rate:.1f}/s · ETA {format_elapsed(eta)} · "


def _outcome_text(row: Row) -> str:
    if row.status == "succeeded":
        return shorten(value_text(row.result), 60)
    return shorten(row.error or "", 60)


def _outcome_html(row: Row) -> str:
    if row.status == "succeeded":
        return html.escape(shorten(value_text(row.result)))
    if row.error:
        return f"<span style='color:#dc2626'>{html.escape(shorten(row.error))}</span>"
    return ""


class TerminalView:
    """A rich progress bar on stderr, for scripts and terminals without ipywidgets."""

    def __init__(self, watch: Watch) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.watch = watch
        self.progress = Progress(
            TextColumn("[bold]taskq[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            transient=False,
            console=Console(stderr=True),  # like tqdm: stdout stays for the program's output
        )
        self.task = self.progress.add_task(
            counts_text(watch.tracker.counts()), total=watch.tracker.total
        )
        self.progress.start()
        self.closed = False

    def refresh(self, final: bool = False) -> None:
        """Redraw from the tracker; stop the bar once final."""
        if self.closed:
            return
        tracker = self.watch.tracker
        self.progress.update(
            self.task, completed=tracker.finished_count(), description=counts_text(tracker.counts())
        )
        if final:
            self.close()

    def close(self) -> None:
        """Stop the bar, leaving its last line on screen."""
        if not self.closed:
            self.closed = True
            self.progress.refresh()
            self.progress.stop()
