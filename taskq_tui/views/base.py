"""What every tab view shares: the context it is handed, and the widget focused on opening."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.containers import Vertical

from ..context import TuiContext


class TabView(Vertical):
    """A tab's content. Reads the shared :class:`TuiContext`; asks the app for anything that
    needs a dialog or the broker by posting a message from :mod:`taskq_tui.requests`."""

    #: Selector of the widget focused when the tab opens (its bindings then show in the footer).
    MAIN: ClassVar[str] = ""

    def __init__(self, context: TuiContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context

    def focus_main(self) -> None:
        """Focus the tab's main widget."""
        if self.MAIN:
            self.query_one(self.MAIN).focus()

    def refuse_if_read_only(self, what: str) -> bool:
        """True (and a notice) when read-only mode forbids ``what``."""
        if self.context.read_only:
            self.notify(f"Read-only mode: {what} is disabled.", severity="warning")
            return True
        return False
