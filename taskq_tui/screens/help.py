"""The help screen: every key of the app and of each tab, as the footer shows them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# taskq control room

**Tabs**: Workers (launch and signal `taskq worker` groups), Messages (one row per message,
live), Metrics (from the workers' Prometheus endpoints), Queues (depths, dead letters).
Press **^p** for the command palette (enqueue to an actor by name, jump to a tab, any action).
"""

#: One help row: the keys as displayed (``?`` / ``f1``) and what they do.
KeyRow = tuple[str, str]


def key_rows(bindings: Iterable[Binding], display: dict[str, str]) -> list[KeyRow]:
    """Rows for ``bindings`` (each key shown as in ``display``); keys sharing an action and
    description are listed together, bindings without a description are left out."""
    rows: dict[tuple[str, str], list[str]] = {}
    for binding in Binding.make_bindings(bindings):
        if binding.description:
            keys = rows.setdefault((binding.action, binding.description), [])
            key = display.get(binding.key, binding.key)
            if key not in keys:
                keys.append(key)
    return [(" / ".join(keys), description) for (_, description), keys in rows.items()]


def bindings_markdown(title: str, rows: list[KeyRow]) -> str:
    """A markdown table of ``rows`` under a heading."""
    lines = [f"## {title}", "", "| key | action |", "|---|---|"]
    for keys, description in rows:
        shown = " ".join(f"`{key}`" for key in keys.split(" / "))
        lines.append(f"| {shown} | {description} |")
    return "\n".join(lines) + "\n"


def help_sections(
    app: App[Any], views: list[tuple[str, DOMNode]]
) -> list[tuple[str, list[KeyRow]]]:
    """The app's keys ("Everywhere"), then each view's under its title, keys shown as
    ``app.get_key_display`` shows them; a binding a view turns off now is left out."""
    app_bindings = list(Binding.make_bindings(app.BINDINGS))
    sections = [("Everywhere", key_rows(app_bindings, _display(app, app_bindings)))]
    for title, view in views:
        bindings = [
            b
            for b in Binding.make_bindings(view.BINDINGS)
            if view.check_action(b.action, ()) is not False
        ]
        sections.append((title, key_rows(bindings, _display(app, bindings))))
    return sections


def _display(app: App[Any], bindings: Iterable[Binding]) -> dict[str, str]:
    return {binding.key: app.get_key_display(binding) for binding in bindings}


class HelpScreen(ModalScreen[None]):
    """Dismissed with escape, q or ?."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-dialog {
        width: 80; height: 80%; border: thick $primary; background: $surface; padding: 1 2;
    }
    """

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list[KeyRow]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = INTRO + "\n".join(bindings_markdown(t, rows) for t, rows in self.sections)
        with VerticalScroll(id="help-dialog"):
            yield Markdown(text)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
