"""Queues tab: depths per queue, dead letters (search, requeue, purge, retry), enqueue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static

from taskq.broker import DeadLetter

from ..event_buffer import oldest_waiting
from ..formatting import clock_time, duration, short

if TYPE_CHECKING:
    from ..app import TaskqApp

#: Dead letters fetched per queue for browsing and searching (newest first).
DEAD_LETTER_LIMIT = 2000


def dead_letter_text(letter: DeadLetter) -> str:
    """Lower-cased text a dead-letter search matches: id, actor, arguments, reason."""
    message = letter.message
    parts = [letter.message_id, letter.reason or ""]
    if message is not None:
        parts += [message.actor_name, json.dumps(list(message.args), default=repr)]
        parts.append(json.dumps(message.kwargs, default=repr))
    else:
        parts.append(letter.raw[:500].decode("utf-8", "replace"))
    return " ".join(parts).lower()


def last_line(text: str | None) -> str:
    """The last non-empty line (a traceback's exception line)."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class QueuesView(Vertical):
    """Queue depths refresh with every broker poll; dead letters load when a queue is picked."""

    TAB = "queues"
    BINDINGS = [
        Binding("r", "requeue_selected", "Requeue"),
        Binding("R", "requeue_all", "Requeue all shown"),
        Binding("p", "purge", "Purge dead"),
        Binding("t", "retry", "Retry (edit args)"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    selected_queue: reactive[str] = reactive("")
    search: reactive[str] = reactive("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dead_letters: list[tuple[DeadLetter, str]] = []
        self._shown: dict[str, DeadLetter] = {}

    @property
    def tui(self) -> TaskqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="queue-table", cursor_type="row")
        table.add_column("Queue", width=30)
        for label in ("Ready", "Delayed", "In flight", "Dead", "Oldest waiting"):
            table.add_column(label, width=max(9, len(label)))
        yield table
        with Horizontal(id="dead-bar"):
            yield Static("Dead letters", id="dead-title")
            yield Input(placeholder="search id / actor / argument text / reason", id="dl-search")
        dead: DataTable[str] = DataTable(id="dead-table", cursor_type="row")
        dead.add_column("Message id", width=10)
        dead.add_column("Actor", width=16)
        dead.add_column("Args", width=24)
        dead.add_column("Reason", width=40)
        dead.add_column("Dead at", width=12)
        yield dead
        yield Static("", id="dead-detail")

    def on_mount(self) -> None:
        self.watch(self.app, "queue_stats", self.show_stats)

    # -- queue table ------------------------------------------------------------------------------
    def show_stats(self, stats: dict[str, dict[str, int]]) -> None:
        """Redraw the depths table from the latest poll."""
        table = self.query_one("#queue-table", DataTable)
        keep = table.cursor_row
        table.clear()
        now_ms = self.tui.config.clock() * 1000
        oldest = oldest_waiting(self.tui.history.events)
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

    def watch_selected_queue(self, queue: str) -> None:
        self.query_one("#dead-title", Static).update(f"Dead letters of [b]{queue or '-'}[/b]")
        self.reload_dead_letters()

    # -- dead letters -----------------------------------------------------------------------------
    def reload_dead_letters(self) -> None:
        """Fetch the selected queue's dead letters in a thread worker."""
        if self.selected_queue:
            self._load_dead_letters(self.selected_queue)

    @work(thread=True, exclusive=True, group="dead-letters")
    def _load_dead_letters(self, queue: str) -> None:
        try:
            letters = self.tui.link.call(
                lambda b: b.dead_letter_messages(queue, limit=DEAD_LETTER_LIMIT)
            )
        except Exception as e:
            self.app.call_from_thread(self.notify, f"Dead letters: {e}", severity="error")
            return
        indexed = [(letter, dead_letter_text(letter)) for letter in letters]
        self.app.call_from_thread(self.set_dead_letters, queue, indexed)

    def set_dead_letters(self, queue: str, letters: list[tuple[DeadLetter, str]]) -> None:
        """Show freshly loaded dead letters (main thread)."""
        if queue == self.selected_queue:
            self.dead_letters = letters
            self.show_dead_letters()

    @on(Input.Changed, "#dl-search")
    def on_search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip().lower()

    def watch_search(self) -> None:
        self.show_dead_letters()

    def show_dead_letters(self) -> None:
        """Redraw the dead-letter table with the current search."""
        table = self.query_one("#dead-table", DataTable)
        table.clear()
        self._shown.clear()
        for letter, text in self.dead_letters:
            if self.search and self.search not in text:
                continue
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
            self.tui.requeue_dead(self.selected_queue, [letter.message_id])

    def action_requeue_all(self) -> None:
        """Requeue every dead letter the search currently shows (after a confirm)."""
        self.tui.requeue_dead(self.selected_queue, list(self._shown))

    def action_purge(self) -> None:
        """Delete every dead letter of the selected queue (after a confirm)."""
        if self.selected_queue:
            self.tui.purge_dead(self.selected_queue)

    def action_retry(self) -> None:
        """Enqueue the selected dead letter again, with arguments editable first."""
        letter = self.selected_letter()
        if letter is not None and letter.message is not None:
            self.tui.retry_with_edits(letter.message.asdict())

    def action_reload(self) -> None:
        """Reload depths and dead letters now."""
        self.tui.poll_broker()
        self.reload_dead_letters()
