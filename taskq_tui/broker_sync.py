"""The app's picture of the broker, kept current off the event loop: the reactive state the
views bind to (connection state, queue stats, heartbeats, events seen, whether abort works), the
message index events are folded into, and the thread workers that poll the broker, follow its
events, import the MODULE arguments and run broker actions.

:class:`~taskq_tui.app.TaskqApp` builds on it with the layout, the dialogs and quitting.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.worker import get_current_worker

from .broker_link import CONNECTED, CONNECTING, DOWN, BrokerDown, BrokerLink
from .config import TuiConfig
from .context import TuiContext
from .controller import ABORT_NO_MODULE, BrokerController, ModulesLoaded
from .feeds import follow_events
from .message_index import MessageIndex

#: Events taken in between two ``gc.freeze()`` calls (see :meth:`BrokerSyncApp.add_events`).
FREEZE_EVERY = 20_000


class BrokerSyncApp(App[int]):
    """Views watch the reactives below through ``data_bind``."""

    broker_state: reactive[str] = reactive(CONNECTING)
    broker_error: reactive[str] = reactive("")
    queue_stats: reactive[dict[str, dict[str, int]]] = reactive(dict, always_update=True)
    heartbeats: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)
    events_seen: reactive[int] = reactive(0)
    #: Why abort is off ("" once the actors' broker is known to have Abortable).
    abort_reason: reactive[str] = reactive(ABORT_NO_MODULE)

    def __init__(self, config: TuiConfig, link: BrokerLink | None = None) -> None:
        super().__init__()
        self.config = config
        self.link = link or BrokerLink(config.broker_url)
        self.controller = BrokerController(self.link, config)
        self.context = TuiContext(config, self.controller, MessageIndex(config.buffer_size))
        #: Actor name → queue name, from the imported MODULE arguments.
        self.actor_queues: dict[str, str] = {}
        self._follow_stopped = threading.Event()
        self._follow_stopped.set()
        self._frozen_at = 0

    @property
    def messages(self) -> MessageIndex:
        """Every message seen (one record each)."""
        return self.context.messages

    # -- state ---------------------------------------------------------------------------------
    def set_broker_state(self, state: str, error: str = "") -> None:
        """Record the connection state (main thread)."""
        self.broker_error = error
        self.broker_state = state

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Fold events into the message index (main thread; tests call this to inject events)."""
        if events:
            self.messages.extend(events)
            self.events_seen += len(events)
            if self.messages.total_events - self._frozen_at >= FREEZE_EVERY:
                self._frozen_at = self.messages.total_events
                # 100k messages are millions of objects: a full collection scanning them all
                # stalls the UI for a third of a second. They hold no cycles (refcounting frees
                # them when evicted), so move them out of the collector's sight.
                gc.collect()
                gc.freeze()

    def drain_events(self) -> None:
        """Move events from the subscriber's inbox into the index, in one batch."""
        self.add_events(self.context.inbox.drain())

    # -- background IO ----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="poll")
    def poll_broker(self) -> None:
        """Refresh queue stats and heartbeats; this is also the connection health check."""
        try:
            stats, beats = self.controller.poll()
        except BrokerDown as e:
            self.call_from_thread(self.set_broker_state, DOWN, str(e))
            return
        except Exception as e:  # an unexpected broker bug must not kill the poller
            self.call_from_thread(self.notify, f"queue stats failed: {e}", severity="error")
            return
        self.call_from_thread(self._apply_poll, stats, beats)

    def _apply_poll(self, stats: dict[str, dict[str, int]], beats: list[dict[str, Any]]) -> None:
        self.set_broker_state(CONNECTED)
        self.queue_stats = stats
        self.heartbeats = beats

    @work(thread=True, exclusive=True, group="events")
    def follow_events(self) -> None:
        """Load the events the broker keeps, then follow the live stream (resubscribing after
        outages)."""
        self._follow_stopped.clear()
        worker = get_current_worker()
        try:
            follow_events(self.controller, self.context.inbox, lambda: worker.is_cancelled)
        finally:
            self._follow_stopped.set()

    @work(thread=True, exclusive=True, group="modules")
    def load_modules(self) -> None:
        """Import the MODULE arguments to learn their actors and whether abort works."""
        try:
            loaded = self.controller.load_modules()
        except BrokerDown:
            return
        self.call_from_thread(self._apply_modules, loaded)

    def _apply_modules(self, loaded: ModulesLoaded) -> None:
        self.actor_queues.update(loaded.actors)
        self.abort_reason = loaded.abort_reason
        for error in loaded.errors:
            self.notify(error, severity="error", timeout=15)

    @work(thread=True, group="actions")
    def run_broker_action(
        self, action: Callable[[], str], failure: str, after: Callable[[], None] | None = None
    ) -> None:
        """Run a broker action off the event loop; notify what it did (or why it failed)."""
        try:
            text = action()
        except Exception as e:
            self.call_from_thread(self.notify, f"{failure}: {e}", severity="error")
            return
        self.call_from_thread(self.notify, text)
        self.call_from_thread(self.poll_broker)
        if after is not None:
            self.call_from_thread(after)
