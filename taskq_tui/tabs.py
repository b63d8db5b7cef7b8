"""The one registry of tabs: the app's layout, its keys, the help screen and the command
palette are all built from :data:`TABS`."""

from __future__ import annotations

from dataclasses import dataclass

from .views.base import TabView
from .views.messages import MessagesView
from .views.metrics import MetricsView
from .views.queues import QueuesView
from .views.workers import WorkersView


@dataclass(frozen=True)
class Tab:
    """One tab: its pane id, title, the key that shows it, its view, and the app reactives
    bound into the view (``data_bind``) by name."""

    id: str
    title: str
    key: str
    view: type[TabView]
    data: tuple[str, ...] = ()

    @property
    def view_id(self) -> str:
        """The DOM id of the tab's view."""
        return f"{self.id}-view"


TABS: tuple[Tab, ...] = (
    Tab("workers", "Workers", "1", WorkersView, ("heartbeats",)),
    Tab("messages", "Messages", "2", MessagesView, ("events_seen", "abort_reason")),
    Tab("metrics", "Metrics", "3", MetricsView),
    Tab("queues", "Queues", "4", QueuesView, ("queue_stats",)),
)
TABS_BY_ID = {tab.id: tab for tab in TABS}
