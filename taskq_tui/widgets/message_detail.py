"""The detail pane of the Messages tab: everything known about one message."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from ..formatting import clock_time
from ..message_index import MessageRecord

#: Event fields shown as a timeline step's note, when present.
STEP_NOTES = ("duration_ms", "retries", "eta", "exception_type", "exception")


def pretty(value: Any) -> str:
    """``value`` as JSON, indented when it does not fit one short line (else its repr)."""
    if value is None:
        return "-"
    try:
        compact = json.dumps(value, ensure_ascii=False, default=repr)
        if len(compact) <= 72:
            return compact
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def timeline(record: MessageRecord) -> Table:
    """Every lifecycle event: time, offset from the first, event, worker, notes."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for column in ("time", "+ms", "event", "worker", ""):
        table.add_column(column, overflow="fold")
    start = record.first_at
    for event in record.events:
        at = int(event.get("timestamp") or start)
        notes = "  ".join(f"{k}={event[k]}" for k in STEP_NOTES if event.get(k) not in (None, ""))
        table.add_row(
            clock_time(at),
            f"+{at - start}",
            str(event.get("event", "?")),
            str(event.get("worker", "")),
            notes,
        )
    return table


class MessageDetail(Static):
    """Set ``record``; ``stored_result`` is filled in when the results backend has one."""

    DEFAULT_CSS = """
    MessageDetail { padding: 0 1; }
    """

    # layout: the pane's height follows its content (a traceback is taller than a success)
    record: reactive[MessageRecord | None] = reactive(None, always_update=True, layout=True)
    stored_result: reactive[str] = reactive("", layout=True)

    def render(self) -> RenderableType:
        record = self.record
        if record is None:
            return Text("Select a message to see its details.", style="dim")
        fields = Table.grid(padding=(0, 1))
        fields.add_column(style="bold cyan", no_wrap=True)
        fields.add_column(overflow="fold")
        fields.add_row("id", Text(record.message_id, style="bold"))
        fields.add_row("status", record.status)
        fields.add_row("actor", record.actor_name)
        fields.add_row("queue", record.queue_name)
        fields.add_row("retries", str(record.retries))
        if record.worker:
            fields.add_row("worker", record.worker)
        if record.duration_ms is not None:
            fields.add_row("duration", f"{record.duration_ms} ms")
        if record.error:
            fields.add_row("error", Text(record.error, style="bold red"))
        fields.add_row("args", Text(pretty(record.args)))
        fields.add_row("kwargs", Text(pretty(record.kwargs or {})))
        fields.add_row("options", Text(pretty(record.options)))
        result = self.stored_result or (None if record.result is None else str(record.result))
        if result is not None:
            fields.add_row("result", Text(result))
        parts: list[RenderableType] = [fields, Text("lifecycle", style="bold"), timeline(record)]
        if record.traceback:
            parts.append(Text(record.traceback.rstrip(), style="red"))
        elif record.reason and record.reason.strip() != record.error:
            parts.append(Text(record.reason.rstrip(), style="red"))
        return Group(*parts)


class DetailScroll(VerticalScroll):
    """The scrolling frame of the detail pane; it may be shown full screen (maximized)."""

    ALLOW_MAXIMIZE = True
