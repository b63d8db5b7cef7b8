"""Command palette entries: enqueue to any known actor, jump to any tab, help."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .tabs import TABS

if TYPE_CHECKING:
    from .app import TaskqApp


class TaskqCommands(Provider):
    """Commands built from the app's known actors and the tab registry."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("TaskqApp", self.app)
        commands: list[tuple[str, str, Callable[[], object]]] = []
        for actor, queue in app.known_actors().items():
            commands.append(
                (
                    f"Enqueue {actor}",
                    f"send a message to {actor} on {queue}",
                    partial(app.action_enqueue, actor),
                )
            )
        commands.append(("Enqueue a message…", "any actor, by name", app.action_enqueue))
        for tab in TABS:
            commands.append(
                (
                    f"Show {tab.title}",
                    f"switch to the {tab.title} tab (key {tab.key})",
                    partial(app.action_show_tab, tab.id),
                )
            )
        commands.append(("Help: key bindings", "every key of every tab", app.action_help))
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
