"""The help screen: every key binding of the app and of each view, generated from BINDINGS."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# taskq control room

**Tabs**: Workers (launch and signal `taskq worker` groups), Messages (live lifecycle tail),
Metrics (from the workers' Prometheus endpoints), Queues (depths, dead letters, enqueue).
Press **ctrl+p** for the command palette (enqueue to an actor by name, jump to a tab).
"""


def bindings_markdown(title: str, bindings: list[Binding]) -> str:
    """A markdown table of ``bindings`` under a heading."""
    rows = [f"## {title}", "", "| key | action |", "|---|---|"]
    for binding in bindings:
        if binding.description:
            rows.append(f"| `{binding.key}` | {binding.description} |")
    return "\n".join(rows) + "\n"


class HelpScreen(ModalScreen[None]):
    """Dismissed with escape, q or ?."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = INTRO + "\n".join(bindings_markdown(t, b) for t, b in self.sections)
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Markdown(text)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
