"""What every view is handed at construction: settings, the data the app keeps, the controller."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import TuiConfig
from .controller import BrokerController
from .event_buffer import EventInbox
from .message_index import MessageIndex
from .worker_groups import WorkerGroup


@dataclass
class TuiContext:
    """Shared by the app and its views; the app owns it and outlives every view.

    ``messages`` is only changed on the UI thread; ``inbox`` is where the event thread drops
    events. ``worker_groups`` are the groups started from this TUI, by name.
    """

    config: TuiConfig
    controller: BrokerController
    messages: MessageIndex
    inbox: EventInbox = field(default_factory=EventInbox)
    worker_groups: dict[str, WorkerGroup] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        """True when every action that changes anything is disabled."""
        return self.config.read_only
