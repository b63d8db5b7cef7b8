"""Messages tab: a live tail of lifecycle events with filters, pause, and a detail pane."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Select, Static

from ..event_buffer import STATUSES, EventFilter, event_status
from ..formatting import clock_time, short
from ..widgets.event_detail import EventDetail

if TYPE_CHECKING:
    from ..app import TaskqApp

#: Statuses whose message may have a stored result (or stored failure) to show.
RESULT_STATUSES = {"succeeded", "failed", "dead"}
#: Rows kept in the table; older events stay in the history and come back when filtering.
MAX_ROWS = 400
STATUS_STYLE = {
    "failed": "red",
    "dead": "bold red",
    "retried": "yellow",
    "succeeded": "green",
    "running": "cyan",
    "delayed": "magenta",
}


class MessagesView(Vertical):
    """The tail redraws at most once per drained batch, appending rows; a full rebuild happens
    only when the filter changes or the table would outgrow ``MAX_ROWS``."""

    TAB = "messages"
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("a", "abort", "Abort msg"),
        Binding("r", "retry", "Retry (edit args)"),
        Binding("ctrl+l", "clear_filters", "Clear filters"),
    ]

    paused: reactive[bool] = reactive(False)
    event_filter: reactive[EventFilter] = reactive(EventFilter)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: dict[str, dict[str, Any]] = {}
        self._row_ids = itertools.count()
        self._shown_total = 0

    @property
    def tui(self) -> TaskqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="message-filters"):
            yield Input(placeholder="queue", id="f-queue", classes="filter")
            yield Input(placeholder="actor", id="f-actor", classes="filter")
            yield Select([(s, s) for s in STATUSES], prompt="any status", id="f-status")
            yield Input(placeholder="search id / actor / args / error", id="f-text")
            yield Static("", id="tail-count")
        table: DataTable[str] = DataTable(id="event-table", cursor_type="row")
        table.add_column("Time", width=12)
        table.add_column("Status", width=9)
        table.add_column("Queue", width=12)
        table.add_column("Actor", width=16)
        table.add_column("Message", width=8)
        table.add_column("Args", width=28)
        table.add_column("Worker", width=18)
        table.add_column("ms", width=6)
        yield table
        with VerticalScroll(id="detail-scroll"):
            yield EventDetail(id="event-detail")

    def on_mount(self) -> None:
        self.watch(self.app, "events_seen", self.refresh_tail)

    # -- filters ----------------------------------------------------------------------------------
    @on(Input.Changed, "#message-filters Input")
    @on(Select.Changed, "#f-status")
    def on_filter_changed(self) -> None:
        status = self.query_one("#f-status", Select).value
        self.event_filter = EventFilter(
            queue=self.query_one("#f-queue", Input).value.strip(),
            actor=self.query_one("#f-actor", Input).value.strip(),
            status=status if isinstance(status, str) else "",
            text=self.query_one("#f-text", Input).value.strip(),
        )

    def watch_event_filter(self) -> None:
        self.rebuild()

    def action_clear_filters(self) -> None:
        """Empty every filter field."""
        for field_id in ("#f-queue", "#f-actor", "#f-text"):
            self.query_one(field_id, Input).value = ""
        self.query_one("#f-status", Select).clear()

    def action_toggle_pause(self) -> None:
        """Freeze the tail (events keep being collected) or resume it."""
        self.paused = not self.paused

    def watch_paused(self, paused: bool) -> None:
        self.tui.part("#header").paused = paused  # type: ignore[attr-defined]
        if not paused:
            self.refresh_tail()

    # -- the table --------------------------------------------------------------------------------
    def refresh_tail(self, _: int = 0) -> None:
        """Append the events that arrived since the last refresh (unless paused)."""
        if self.paused or not self.is_mounted:
            return
        history = self.tui.history
        new_count = history.total - self._shown_total
        if new_count <= 0:
            return
        if new_count >= len(history.events):
            self.rebuild()
            return
        new = list(itertools.islice(reversed(history.events), new_count))[::-1]
        self._shown_total = history.total
        matching = [e for e in new if self.event_filter.matches(e)][-MAX_ROWS:]
        table = self.query_one("#event-table", DataTable)
        if table.row_count + len(matching) > MAX_ROWS:
            self.rebuild()
            return
        self._add_rows(table, matching)

    def rebuild(self) -> None:
        """Redraw the table from the history with the current filter."""
        table = self.query_one("#event-table", DataTable)
        table.clear()
        self._rows.clear()
        self._shown_total = self.tui.history.total
        self._add_rows(table, self.tui.history.filtered(self.event_filter, MAX_ROWS // 2))

    def _add_rows(self, table: DataTable[str], events: list[dict[str, Any]]) -> None:
        if not events:
            self._update_count(table)
            return
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        rows = []
        for event in events:
            key = str(next(self._row_ids))
            self._rows[key] = event
            status = event_status(event)
            style = STATUS_STYLE.get(status)
            args = " ".join(
                json.dumps(event[k], default=repr) for k in ("args", "kwargs") if event.get(k)
            )
            rows.append(
                (
                    clock_time(event.get("timestamp")),
                    f"[{style}]{status}[/]" if style else status,
                    event.get("queue_name", ""),
                    event.get("actor_name", ""),
                    str(event.get("message_id", ""))[:8],
                    short(args, 28),
                    short(event.get("worker", ""), 18),
                    "" if event.get("duration_ms") is None else str(event["duration_ms"]),
                )
            )
        keys = list(self._rows)[-len(rows) :]
        for key, row in zip(keys, rows, strict=True):
            table.add_row(*row, key=key)
        if follow:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._update_count(table)

    def _update_count(self, table: DataTable[str]) -> None:
        inbox = self.tui.inbox
        text = f"{table.row_count} shown / {self.tui.history.total} seen"
        if inbox.dropped:
            text += f" / {inbox.dropped} dropped"
        self.query_one("#tail-count", Static).update(text)

    def selected_event(self) -> dict[str, Any] | None:
        """The event under the cursor."""
        table = self.query_one("#event-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._rows.get(key or "")

    @on(DataTable.RowHighlighted, "#event-table")
    def on_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        selected = self._rows.get(event.row_key.value or "")
        try:
            detail = self.query_one(EventDetail)
        except NoMatches:  # highlighted while the view is being rebuilt
            return
        if selected is None or selected is detail.event:
            return
        detail.result = ""
        detail.timeline = self.tui.history.timeline(selected.get("message_id", ""))
        detail.event = selected
        if self.tui.config.live and event_status(selected) in RESULT_STATUSES:
            self.fetch_result(selected)

    @work(thread=True, exclusive=True, group="result")
    def fetch_result(self, event: dict[str, Any]) -> None:
        """Look the message's result up in the results backend: the imported modules' own
        when they set one up, else the one where the TUI's broker keeps its data."""
        from taskq import Message
        from taskq.results import Results
        from taskq.results.errors import ResultFailure, ResultMissing

        message = Message(
            str(event.get("queue_name", "")),
            str(event.get("actor_name", "")),
            message_id=str(event.get("message_id", "")),
        )
        try:
            backend = self.tui.call_with_middleware(Results, lambda b: b.get_results_backend())
            text = repr(backend.get_result(message, block=False))
        except ResultMissing:
            text = "(not stored)"
        except ResultFailure as e:
            text = f"(failure stored: {e})"
        except Exception as e:
            text = f"(unavailable: {type(e).__name__}: {e})"
        self.app.call_from_thread(self._show_result, event, text)

    def _show_result(self, event: dict[str, Any], text: str) -> None:
        try:
            detail = self.query_one(EventDetail)
        except NoMatches:  # the view is being rebuilt or closed: nothing to show it in
            return
        if detail.event is event:  # the user may have moved on
            detail.result = text

    # -- actions ----------------------------------------------------------------------------------
    def action_abort(self) -> None:
        """Abort the selected message (queued or running)."""
        event = self.selected_event()
        if event and event.get("message_id"):
            self.tui.abort_message(event["message_id"])

    def action_retry(self) -> None:
        """Send the selected message again, with its arguments editable first."""
        event = self.selected_event()
        if event:
            self.tui.retry_with_edits(event)
