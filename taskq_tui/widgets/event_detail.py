"""The detail pane of the Messages tab: one message's fields, timeline, traceback and result."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..event_buffer import event_status
from ..formatting import clock_time

FIELDS = ["message_id", "queue_name", "actor_name", "worker", "retries", "duration_ms", "reason"]


def _json(value: Any) -> str:
    try:
        return json.dumps(value, indent=None, default=repr)
    except (TypeError, ValueError):
        return repr(value)


class EventDetail(Static):
    """Set ``event`` and ``timeline``; ``result`` is filled in when a stored result is found."""

    event: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    timeline: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)
    result: reactive[str] = reactive("")

    def render(self) -> RenderableType:
        event = self.event
        if event is None:
            return Text("Select an event to see its message.", style="dim")
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("status", event_status(event))
        for name in FIELDS:
            if event.get(name) not in (None, ""):
                table.add_row(name, str(event[name]))
        table.add_row("args", _json(event.get("args", [])))
        table.add_row("kwargs", _json(event.get("kwargs", {})))
        options = {k: v for k, v in (event.get("options") or {}).items() if k != "traceback"}
        table.add_row("options", _json(options))
        if self.result:
            table.add_row("result", self.result)
        parts: list[RenderableType] = [table]
        if self.timeline:
            start = self.timeline[0].get("timestamp") or 0
            steps = Text("timeline: ", style="bold")
            for step in self.timeline:
                offset = (step.get("timestamp") or start) - start
                steps.append(f"{step.get('event')} +{offset}ms  ")
            steps.append(f"(first at {clock_time(start)})", style="dim")
            parts.append(steps)
        error = event.get("traceback") or (event.get("options") or {}).get("traceback")
        if event.get("exception") or error:
            parts.append(
                Text(
                    f"{event.get('exception_type', 'Error')}: {event.get('exception', '')}",
                    style="bold red",
                )
            )
            if error:
                parts.append(Text(str(error).rstrip(), style="red"))
        return Group(*parts)
