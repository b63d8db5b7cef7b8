"""The top bar: app name, masked broker URL, connection state and mode flags."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

STATE_STYLE = {"connected": "bold green", "connecting": "bold yellow", "down": "bold red"}


class BrokerHeader(Static):
    """Shows ``taskq · <url> · ● state`` and flags such as READ-ONLY and DEMO."""

    DEFAULT_CSS = """
    BrokerHeader { height: 1; background: $panel; padding: 0 1; }
    """

    url: reactive[str] = reactive("")
    state: reactive[str] = reactive("connecting")
    read_only: reactive[bool] = reactive(False)
    demo: reactive[bool] = reactive(False)
    paused: reactive[bool] = reactive(False)

    def render(self) -> Text:
        text = Text.assemble(("taskq", "bold"), "  broker ", (self.url, "cyan"), "  ")
        text.append(f"● {self.state}", style=STATE_STYLE.get(self.state, "bold"))
        for flag, on in (("READ-ONLY", self.read_only), ("DEMO", self.demo)):
            if on:
                text.append(f"  [{flag}]", style="bold magenta")
        if self.paused:
            text.append("  [TAIL PAUSED]", style="bold yellow")
        return text
