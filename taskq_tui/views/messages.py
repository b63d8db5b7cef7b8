"""Messages tab: one row per message, updated in place as it moves through its lifecycle, with
filters, search, pause, and a detail pane."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from ..controller import ABORT_NO_MODULE
from ..formatting import clock_time, short
from ..message_index import FINISHED, STATUSES, MessageFilter, MessageRecord
from ..requests import AbortRequested, RetryRequested
from ..screens.enqueue import EnqueueRequest
from ..widgets.message_detail import DetailScroll, MessageDetail
from ..widgets.virtual_table import Column, VirtualTable
from .base import TabView

#: Rows kept in the table (the newest matching messages); the rest stay searchable. Only the
#: rows on screen are drawn, so this bounds memory and the filter's scan, not the redraw.
MAX_ROWS = 1000
#: Seconds the cursor rests on a row before the detail pane shows it.
DETAIL_DELAY = 0.1
#: Statuses a message can still be aborted in.
ABORTABLE = {"queued", "delayed", "running", "retried"}
STATUS_STYLE = {
    "failed": "red",
    "dead": "bold red",
    "aborted": "magenta",
    "retried": "yellow",
    "succeeded": "green",
    "running": "cyan",
    "delayed": "magenta",
}
#: The table's columns (the last, the error, takes the width left).
COLUMNS = [
    Column("time", "Time", 12),
    Column("status", "Status", 9),
    Column("queue", "Queue", 10),
    Column("actor", "Actor", 14),
    Column("args", "Args", 20),
    Column("worker", "Worker", 12),
    Column("ms", "ms", 6),
    Column("error", "Error", 18),
]


def row_cells(record: MessageRecord) -> list[Any]:
    """The table cells of one message (computed once per change of the record)."""
    if record.view_cache is None:
        record.view_cache = _cells(record)
    return list(record.view_cache)


def _cells(record: MessageRecord) -> list[Any]:
    # Text, not str: a str cell would be parsed as console markup on every measure and render.
    return [
        Text(clock_time(record.first_at)),
        Text(record.status, style=STATUS_STYLE.get(record.status, "")),
        Text(short(record.queue_name, 10)),
        Text(short(record.actor_name, 14)),
        Text(short(record.args_text(), 20)),
        Text(short(record.worker, 12)),
        Text("" if record.duration_ms is None else str(record.duration_ms)),
        Text(short(record.error, 80), style="red"),
    ]


class MessagesView(TabView):
    """The table redraws fully only when the filter changes or too much changed at once; else
    rows of changed messages are updated in place and new ones appended."""

    DEFAULT_CSS = """
    MessagesView #message-filters { height: 3; }
    MessagesView #message-filters .filter { width: 16; }
    MessagesView #f-status { width: 20; }
    MessagesView #f-text { width: 1fr; }
    MessagesView #tail-count {
        width: 34; padding: 1 1 0 1; color: $text-muted; text-align: right;
    }
    MessagesView #message-table { height: 1fr; }
    MessagesView #detail-scroll { height: 14; border-top: solid $primary-darken-2; }
    MessagesView #detail-scroll.-maximized { height: 1fr; border-top: none; }
    """

    MAIN = "#message-table"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("escape", "focus_table", "Back to the table", show=False),
        Binding("space", "toggle_pause", "Pause", tooltip="Pause or resume the live table"),
        Binding("a", "abort", "Abort"),
        Binding("a", "abort_off", "Abort (off)", tooltip="Needs the Abortable middleware"),
        Binding("r", "retry", "Retry", tooltip="Send again, original arguments editable"),
        Binding("c", "copy_id", "Copy id"),
        Binding("enter", "expand_detail", "Details", tooltip="Full screen; Esc goes back"),
        Binding("ctrl+l", "clear_filters", "Clear filters", show=False),
    ]

    class PauseToggled(Message):
        """The tail was paused or resumed."""

        def __init__(self, paused: bool) -> None:
            super().__init__()
            self.paused = paused

    # var, not reactive: a change runs the watcher (which redraws what changed) without also
    # repainting the whole view, filters and detail pane included, on every keystroke or event
    paused: var[bool] = var(False)
    message_filter: var[MessageFilter] = var(MessageFilter)
    #: Bound to the app's counter of events taken in; each change refreshes the table.
    events_seen: var[int] = var(0)
    #: Why abort is off ("" when it works); bound to the app.
    abort_reason: var[str] = var(ABORT_NO_MODULE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: dict[str, None] = {}  # message ids in the table, oldest first
        self._synced = 0
        self._detail_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="message-filters"):
            yield Input(placeholder="queue", id="f-queue", classes="filter")
            yield Input(placeholder="actor", id="f-actor", classes="filter")
            yield Select([(s, s) for s in STATUSES], prompt="any status", id="f-status")
            yield Input(placeholder="/ search id, actor, args, error", id="f-text")
            yield Static("", id="tail-count")
        yield VirtualTable(COLUMNS, self._row_cells, id="message-table")
        with DetailScroll(id="detail-scroll"):
            yield MessageDetail(id="message-detail")

    @property
    def table(self) -> VirtualTable:
        """The message table."""
        return self.query_one("#message-table", VirtualTable)

    def _row_cells(self, message_id: str) -> list[Any]:
        record = self.context.messages.get(message_id)
        return row_cells(record) if record is not None else [Text("")] * len(COLUMNS)

    def on_mount(self) -> None:
        self.rebuild()

    # -- filters ----------------------------------------------------------------------------------
    @on(Input.Changed, "#message-filters Input")
    @on(Select.Changed, "#f-status")
    def on_filter_changed(self) -> None:
        status = self.query_one("#f-status", Select).value
        self.message_filter = MessageFilter(
            queue=self.query_one("#f-queue", Input).value.strip(),
            actor=self.query_one("#f-actor", Input).value.strip(),
            status=status if isinstance(status, str) else "",
            text=self.query_one("#f-text", Input).value.strip(),
        )

    @on(Input.Submitted, "#message-filters Input")
    def action_focus_table(self) -> None:
        """Move focus from a filter back to the table."""
        self.table.focus()

    def watch_message_filter(self) -> None:
        if self.is_mounted:
            self.rebuild()

    def action_focus_search(self) -> None:
        """Focus the search box."""
        self.query_one("#f-text", Input).focus()

    def action_clear_filters(self) -> None:
        """Empty every filter field."""
        for field_id in ("#f-queue", "#f-actor", "#f-text"):
            self.query_one(field_id, Input).value = ""
        self.query_one("#f-status", Select).clear()

    def action_toggle_pause(self) -> None:
        """Freeze the table (events keep being collected) or resume it."""
        self.paused = not self.paused

    def watch_paused(self, paused: bool) -> None:
        self.post_message(self.PauseToggled(paused))
        if not paused:
            self.refresh_rows()

    # -- the table --------------------------------------------------------------------------------
    def watch_events_seen(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Update the rows of messages that changed since the last refresh (unless paused)."""
        if self.paused or not self.is_mounted:
            return
        index = self.context.messages
        changed = index.changed_since(self._synced)
        if changed is None or len(changed) > MAX_ROWS:
            self.rebuild()
            return
        if not changed:
            return
        self._synced = index.version
        table = self.table
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        for record in changed:
            message_id = record.message_id
            if index.get(message_id) is record and self.message_filter.matches(record):
                if message_id in self._shown:
                    table.refresh_key(message_id)
                else:
                    table.append_row(message_id)
                    self._shown[message_id] = None
            elif message_id in self._shown:
                table.remove_row(message_id)
                del self._shown[message_id]
        while len(self._shown) > MAX_ROWS:
            oldest = next(iter(self._shown))
            table.remove_row(oldest)
            del self._shown[oldest]
        if follow and table.row_count:
            table.move_cursor(table.row_count - 1)
        detail = self.query_one(MessageDetail)
        if detail.record is not None and detail.record in changed:
            self.show_detail(detail.record)
        self._update_count()

    def rebuild(self) -> None:
        """Redraw the table from the index with the current filter (the rows on screen only are
        drawn, at the next frame)."""
        index = self.context.messages
        table = self.table
        self._synced = index.version
        records = index.newest(self.message_filter, MAX_ROWS)
        self._shown = dict.fromkeys(r.message_id for r in records)
        table.set_rows(list(self._shown), cursor_key=table.cursor_key)
        self._update_count()

    def _update_count(self) -> None:
        index, inbox = self.context.messages, self.context.inbox
        text = f"{len(self._shown)} shown / {len(index)} messages"
        if inbox.dropped:
            text += f" / {inbox.dropped} dropped"
        # A fixed width: a new count redraws the line without a layout of the whole screen.
        self.query_one("#tail-count", Static).update(text, layout=False)

    def selected_record(self) -> MessageRecord | None:
        """The message under the cursor."""
        key = self.table.cursor_key
        return self.context.messages.get(key) if key is not None else None

    # -- the detail pane --------------------------------------------------------------------------
    @on(VirtualTable.RowHighlighted, "#message-table")
    def on_row_highlighted(self) -> None:
        # Not at once: while the cursor runs down the rows, or a search is typed, the table
        # redraws first and the pane follows once the cursor rests (one layout, not one a key).
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY, self.show_selected_detail)

    def show_selected_detail(self) -> None:
        """Show the message under the cursor in the detail pane."""
        record = self.selected_record()
        if record is not None and record is not self.query_one(MessageDetail).record:
            self.show_detail(record)

    def show_detail(self, record: MessageRecord) -> None:
        """Show ``record`` in the detail pane; look its stored result up once it finished."""
        detail = self.query_one(MessageDetail)
        if record is not detail.record:
            detail.stored_result = ""
        detail.record = record
        if self.context.config.live and record.status in FINISHED and not detail.stored_result:
            self.fetch_result(record)

    @work(thread=True, exclusive=True, group="result")
    def fetch_result(self, record: MessageRecord) -> None:
        """Look the message's result up in the results backend (off the event loop)."""
        text = self.context.controller.stored_result(
            record.queue_name, record.actor_name, record.message_id
        )
        self.app.call_from_thread(self._show_result, record, text)

    def _show_result(self, record: MessageRecord, text: str) -> None:
        if not self.query(MessageDetail):  # fetched while the app closed
            return
        detail = self.query_one(MessageDetail)
        if detail.record is record:  # the user may have moved on
            detail.stored_result = text

    # -- actions ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show either "Abort" or "Abort (off)" in the footer, never both."""
        if action == "abort":
            return not self.abort_reason
        if action == "abort_off":
            return bool(self.abort_reason)
        return True

    def watch_abort_reason(self) -> None:
        self.refresh_bindings()

    def action_abort(self) -> None:
        """Abort the selected message (queued or running)."""
        record = self.selected_record()
        if record is None:
            self.notify("Select a message first.", severity="warning")
        elif record.status not in ABORTABLE:
            self.notify(f"Message {record.message_id[:8]} is {record.status}: nothing to abort.")
        else:
            self.post_message(AbortRequested(record.message_id))

    def action_abort_off(self) -> None:
        """Say why abort is off and what turns it on."""
        self.notify(self.abort_reason, title="Abort is off", severity="warning", timeout=15)

    def action_retry(self) -> None:
        """Send the selected message again, with its arguments editable first."""
        record = self.selected_record()
        if record is None:
            self.notify("Select a message first.", severity="warning")
            return
        args, kwargs = record.args, record.kwargs
        if not isinstance(args, list) or not isinstance(kwargs, dict | None):
            self.notify(
                "Its arguments were too large to keep in events: enter them in the form.",
                severity="warning",
            )
            args, kwargs = [], {}
        prefill = EnqueueRequest(
            record.actor_name, record.queue_name or "default", list(args), dict(kwargs or {})
        )
        self.post_message(RetryRequested(prefill))

    def action_expand_detail(self) -> None:
        """Show the selected message's detail pane full screen, focused to scroll through its
        lifecycle and traceback (Esc restores the layout)."""
        record = self.selected_record()
        if record is None:
            self.notify("Select a message first.", severity="warning")
            return
        if record is not self.query_one(MessageDetail).record:
            self.show_detail(record)
        pane = self.query_one("#detail-scroll", DetailScroll)
        pane.focus()
        self.screen.maximize(pane, container=False)

    def action_copy_id(self) -> None:
        """Copy the selected message's id to the clipboard."""
        record = self.selected_record()
        if record is not None:
            self.app.copy_to_clipboard(record.message_id)
            self.notify(f"Copied {record.message_id}")
