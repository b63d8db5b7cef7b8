"""Queues tab: depths per queue, dead letters (search, requeue, purge, retry), enqueue."""

from __future__ import annotations

import json
import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from taskq.broker import DeadLetter

from ..formatting import clock_time, duration, short
from ..requests import PurgeRequested, RefreshRequested, RequeueRequested, RetryRequested
from ..screens.enqueue import EnqueueRequest
from .base import TabView

#: Dead letters listed per queue when no search is typed (newest first).
DEAD_LETTER_LIMIT = 2000
#: Matches a search shows (newest first); the broker searches where the letters are stored.
SEARCH_LIMIT = 500
#: Seconds of typing pause before a search runs.
SEARCH_DEBOUNCE = 0.3


def last_line(text: str | None) -> str:
    """The last non-empty line (a traceback's exception line)."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class QueuesView(TabView):
    """Queue depths refresh with every broker poll; the dead letters of the selected queue load
    when it is picked and reload on their own whenever its dead count changes."""

    DEFAULT_CSS = """
    QueuesView #queue-table { height: 10; }
    QueuesView #dead-bar { height: 3; }
    QueuesView #dead-title { width: 44; padding: 1 1 0 1; }
    QueuesView #dl-search { width: 1fr; }
    QueuesView #dead-table { height: 1fr; }
    QueuesView #dead-detail { height: 5; padding: 0 1; border-top: solid $primary-darken-2; }
    """

    MAIN = "#queue-table"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("r", "requeue_selected", "Requeue"),
        Binding("R", "requeue_all", "Requeue all", tooltip="Requeue every dead letter shown"),
        Binding("p", "purge", "Purge", tooltip="Delete every dead letter of the queue"),
        Binding("t", "retry", "Retry", tooltip="Send again, original arguments editable"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    selected_queue: reactive[str] = reactive("")
    search: reactive[str] = reactive("")
    #: Bound to the app's latest poll: queue name -> ready/delayed/in_flight/dead counts.
    queue_stats: reactive[dict[str, dict[str, int]]] = reactive(dict, always_update=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dead_letters: list[DeadLetter] = []
        self._shown: dict[str, DeadLetter] = {}
        self._shown_search = ""
        self._search_ms = 0.0
        self._search_timer: Timer | None = None
        self._dead_counts: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="queue-table", cursor_type="row")
        table.add_column("Queue", width=30)
        for label in ("Ready", "Delayed", "In flight", "Dead", "Oldest waiting"):
            table.add_column(label, width=max(9, len(label)))
        yield table
        with Horizontal(id="dead-bar"):
            yield Static("Dead letters", id="dead-title")
            yield Input(placeholder="/ search id, actor, argument text, reason", id="dl-search")
        dead: DataTable[str] = DataTable(id="dead-table", cursor_type="row")
        dead.add_column("Message id", width=10)
        dead.add_column("Actor", width=16)
        dead.add_column("Args", width=24)
        dead.add_column("Reason", width=40)
        dead.add_column("Dead at", width=12)
        yield dead
        yield Static("", id="dead-detail")

    # -- queue table ------------------------------------------------------------------------------
    def watch_queue_stats(self, stats: dict[str, dict[str, int]]) -> None:
        self.show_stats(stats)
        dead = {name: counts.get("dead", 0) for name, counts in stats.items()}
        changed = dead.get(self.selected_queue) != self._dead_counts.get(self.selected_queue)
        self._dead_counts = dead
        if changed and self.selected_queue in dead:
            self.reload_dead_letters()

    def show_stats(self, stats: dict[str, dict[str, int]]) -> None:
        """Redraw the depths table from the latest poll."""
        table = self.query_one("#queue-table", DataTable)
        keep = table.cursor_row
        table.clear()
        now_ms = self.context.config.clock() * 1000
        oldest = self.context.messages.oldest_waiting()
        for name, counts in sorted(stats.items()):
            since = oldest.get(name)
            age = duration((now_ms - since) / 1000) if since and counts.get("ready") else "-"
            table.add_row(
                name,
                *(str(counts.get(k, 0)) for k in ("ready", "delayed", "in_flight", "dead")),
                age,
                key=name,
            )
        if stats:
            table.move_cursor(row=min(keep, len(stats) - 1))
            if not self.selected_queue:
                self.selected_queue = sorted(stats)[0]

    @on(DataTable.RowHighlighted, "#queue-table")
    def on_queue_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.selected_queue = event.row_key.value

    def watch_selected_queue(self) -> None:
        self._shown_search = ""
        self._show_title()
        self.reload_dead_letters()

    def _show_title(self) -> None:
        title = f"Dead letters of [b]{self.selected_queue or '-'}[/b]"
        if self._shown_search:
            count = len(self.dead_letters)
            more = f" (the newest {SEARCH_LIMIT})" if count >= SEARCH_LIMIT else ""
            search = self._shown_search.replace("[", r"\[")
            title += f": {count} match {search!r}{more} ({self._search_ms:.0f} ms)"
        self.query_one("#dead-title", Static).update(title)

    # -- dead letters -----------------------------------------------------------------------------
    def reload_dead_letters(self) -> None:
        """Fetch the selected queue's dead letters (matching the search) in a thread worker."""
        if self.selected_queue:
            self._load_dead_letters(self.selected_queue, self.search)

    @work(thread=True, exclusive=True, group="dead-letters")
    def _load_dead_letters(self, queue: str, search: str) -> None:
        started = time.perf_counter()
        try:
            limit = SEARCH_LIMIT if search else DEAD_LETTER_LIMIT
            letters = self.context.controller.dead_letters(queue, search, limit)
        except Exception as e:
            self.app.call_from_thread(self.notify, f"Dead letters: {e}", severity="error")
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.app.call_from_thread(self.set_dead_letters, queue, letters, search, elapsed_ms)

    def set_dead_letters(
        self, queue: str, letters: list[DeadLetter], search: str = "", elapsed_ms: float = 0.0
    ) -> None:
        """Show freshly loaded dead letters (main thread); stale answers are dropped, and so are
        answers that arrive while the app closes (its widgets are already gone)."""
        if queue == self.selected_queue and search == self.search and self._ready():
            self.dead_letters = letters
            self._shown_search = search
            self._search_ms = elapsed_ms
            self._show_title()
            self.show_dead_letters()

    def _ready(self) -> bool:
        return bool(self.query("#dead-title"))

    def action_focus_search(self) -> None:
        """Focus the dead-letter search box."""
        self.query_one("#dl-search", Input).focus()

    @on(Input.Submitted, "#dl-search")
    def focus_dead_table(self) -> None:
        self.query_one("#dead-table", DataTable).focus()

    @on(Input.Changed, "#dl-search")
    def on_search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()

    def watch_search(self) -> None:
        """Search on the broker once typing pauses."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, self.reload_dead_letters)

    def show_dead_letters(self) -> None:
        """Redraw the dead-letter table."""
        table = self.query_one("#dead-table", DataTable)
        table.clear()
        self._shown.clear()
        for letter in self.dead_letters:
            message = letter.message
            self._shown[letter.message_id] = letter
            table.add_row(
                letter.message_id[:8],
                message.actor_name if message else "(undecodable)",
                short(json.dumps(list(message.args), default=repr) if message else "", 24),
                short(last_line(letter.reason), 40),
                clock_time(letter.dead_at),
                key=letter.message_id,
            )
        self.show_dead_detail()

    def selected_letter(self) -> DeadLetter | None:
        """The dead letter under the cursor."""
        table = self.query_one("#dead-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._shown.get(key or "")

    @on(DataTable.RowHighlighted, "#dead-table")
    def show_dead_detail(self) -> None:
        letter = self.selected_letter()
        detail = self.query_one("#dead-detail", Static)
        if letter is None:
            detail.update(f"{len(self._shown)} of {len(self.dead_letters)} dead letters shown.")
            return
        body = letter.message.asdict() if letter.message else letter.raw.decode("utf-8", "replace")
        reason = (letter.reason or "").strip().replace("[", r"\[")
        text = json.dumps(body, default=repr).replace("[", r"\[")
        detail.update(
            f"[b]{letter.message_id}[/b]  {short(text, 200)}\n[red]{short(reason, 600)}[/]"
        )

    # -- actions ----------------------------------------------------------------------------------
    def action_requeue_selected(self) -> None:
        """Requeue the dead letter under the cursor (after a confirm)."""
        letter = self.selected_letter()
        if letter is not None:
            self.post_message(RequeueRequested(self.selected_queue, [letter.message_id]))

    def action_requeue_all(self) -> None:
        """Requeue every dead letter the search currently shows (after a confirm)."""
        if self._shown:
            self.post_message(RequeueRequested(self.selected_queue, list(self._shown)))

    def action_purge(self) -> None:
        """Delete every dead letter of the selected queue (after a confirm)."""
        if self.selected_queue:
            self.post_message(PurgeRequested(self.selected_queue))

    def action_retry(self) -> None:
        """Enqueue the selected dead letter again, with arguments editable first."""
        letter = self.selected_letter()
        if letter is not None and letter.message is not None:
            message = letter.message
            prefill = EnqueueRequest(
                message.actor_name, message.queue_name, list(message.args), dict(message.kwargs)
            )
            self.post_message(RetryRequested(prefill))

    def action_reload(self) -> None:
        """Reload depths and dead letters now."""
        self.post_message(RefreshRequested())
        self.reload_dead_letters()
