"""A banner shown while the broker is unreachable; the rest of the UI keeps working."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class ConnectionBanner(Static):
    """Hidden while connected; shows the masked error and that reconnection is under way."""

    DEFAULT_CSS = """
    ConnectionBanner { height: 1; background: $error; color: $text; text-style: bold; padding: 0 1; }
    """

    error: reactive[str] = reactive("")
    down: reactive[bool] = reactive(False)

    def render(self) -> str:
        return f"Broker unreachable: {self.error}  (reconnecting automatically)"

    def watch_down(self, down: bool) -> None:
        self.display = down
