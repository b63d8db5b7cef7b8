"""The taskq control room: header, four tabs (Workers, Messages, Metrics, Queues), footer."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from taskq.broker import Broker

from .broker_link import CONNECTED, CONNECTING, DOWN, BrokerDown, BrokerLink
from .broker_tasks import BrokerTasks
from .commands import TaskqCommands
from .config import TuiConfig
from .event_buffer import EventHistory, EventInbox
from .screens.confirm import ConfirmScreen
from .screens.help import HelpScreen
from .screens.messages import MessagesView
from .screens.metrics import MetricsView
from .screens.queues import QueuesView
from .screens.workers import WorkersView
from .terminal_driver import TerminalGone
from .widgets.broker_header import BrokerHeader
from .widgets.connection_banner import ConnectionBanner
from .worker_groups import WorkerGroup

T = TypeVar("T")

#: The widget focused when a tab opens (its bindings then show in the footer).
TAB_TABLES = {
    "workers": "#process-table",
    "messages": "#event-table",
    "metrics": "#metrics-table",
    "queues": "#queue-table",
}
TABS = {"workers": "Workers", "messages": "Messages", "metrics": "Metrics", "queues": "Queues"}


class TaskqApp(BrokerTasks, App[int]):
    """The Textual app. Broker IO runs in thread workers; views watch the reactives below."""

    CSS_PATH = "app.tcss"
    TITLE = "taskq"
    COMMANDS = App.COMMANDS | {TaskqCommands}
    BINDINGS = [
        Binding("1", "show_tab('workers')", "Workers"),
        Binding("2", "show_tab('messages')", "Messages"),
        Binding("3", "show_tab('metrics')", "Metrics"),
        Binding("4", "show_tab('queues')", "Queues"),
        Binding("e", "enqueue", "Enqueue"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    broker_state: reactive[str] = reactive(CONNECTING)
    broker_error: reactive[str] = reactive("")
    queue_stats: reactive[dict[str, dict[str, int]]] = reactive(dict, always_update=True)
    heartbeats: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)
    events_seen: reactive[int] = reactive(0)

    def __init__(self, config: TuiConfig, link: BrokerLink | None = None) -> None:
        super().__init__()
        self.config = config
        self.link = link or BrokerLink(config.broker_url)
        self.inbox = EventInbox()
        self.history = EventHistory(config.buffer_size)
        self.actor_queues: dict[str, str] = {}
        self.worker_groups: dict[str, WorkerGroup] = {}
        #: The broker the MODULE arguments set up for themselves (``taskq.set_broker``), when it
        #: is not the TUI's own: its Results and Abortable middleware are the ones to use.
        self.module_broker: Broker | None = None
        self._follow_stopped = threading.Event()
        self._follow_stopped.set()
        self._quitting = False

    def get_driver_class(self) -> Any:
        """On Linux, a driver that survives the terminal being closed (see terminal_driver)."""
        from textual.drivers.linux_driver import LinuxDriver

        driver_class = super().get_driver_class()
        if driver_class is LinuxDriver:
            from .terminal_driver import HangupSafeDriver

            return HangupSafeDriver
        return driver_class

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        header = BrokerHeader(id="header")
        header.url = self.config.masked_url
        header.read_only = self.config.read_only
        header.demo = self.config.demo
        yield header
        yield ConnectionBanner(id="banner")
        with TabbedContent(initial="messages" if not self.config.demo else "workers"):
            with TabPane(TABS["workers"], id="workers"):
                yield WorkersView(id="workers-view")
            with TabPane(TABS["messages"], id="messages"):
                yield MessagesView(id="messages-view")
            with TabPane(TABS["metrics"], id="metrics"):
                yield MetricsView(id="metrics-view")
            with TabPane(TABS["queues"], id="queues"):
                yield QueuesView(id="queues-view")
        yield Footer()

    def on_mount(self) -> None:
        self.part(ConnectionBanner).display = False
        if self.link.state == CONNECTED:
            self.broker_state = CONNECTED
        if not self.config.live:
            return
        self._handle_hangups()
        self.load_modules()
        self.poll_broker()
        self.set_interval(self.config.poll_interval, self.poll_broker)
        self.follow_events()
        self.set_interval(0.25, self.drain_events)
        if self.config.demo:
            self.start_demo()

    def part(self, selector: Any) -> Any:
        """A widget of the main screen, even while a dialog is on top."""
        return self.screen_stack[0].query_one(selector)

    # -- state ----------------------------------------------------------------------------
    def watch_broker_state(self, state: str) -> None:
        with contextlib.suppress(NoMatches, IndexError):  # not while shutting down
            self.part(BrokerHeader).state = state
            banner = self.part(ConnectionBanner)
            banner.error = self.broker_error
            banner.down = state == DOWN

    def set_broker_state(self, state: str, error: str = "") -> None:
        """Record the connection state (main thread)."""
        self.broker_error = error
        self.broker_state = state

    def known_actors(self) -> dict[str, str]:
        """Actor name → queue name, from imported modules and from events seen."""
        actors = {a: "default" for a in self.history.actors}
        for event in list(self.history.events)[-200:]:
            if event.get("actor_name") and event.get("queue_name"):
                actors[event["actor_name"]] = event["queue_name"]
        actors.update(self.actor_queues)
        return dict(sorted(actors.items()))

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Feed events into the history (main thread; tests call this to inject events)."""
        if events:
            self.history.extend(events)
            self.events_seen += len(events)

    def drain_events(self) -> None:
        """Move events from the subscriber's inbox into the history, in one batch."""
        self.add_events(self.inbox.drain())

    # -- background IO ----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="poll")
    def poll_broker(self) -> None:
        """Refresh queue stats and heartbeats; this is also the connection health check."""
        try:
            stats = self.link.call(lambda b: b.queue_stats())
            beats = self.link.call(lambda b: b.worker_heartbeats())
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
        """Read history once, then follow the live event stream, resubscribing after outages."""
        self._follow_stopped.clear()
        try:
            self._follow_events()
        finally:
            self._follow_stopped.set()

    def _follow_events(self) -> None:
        worker = get_current_worker()
        try:
            for event in self.link.call(lambda b: b.recent_events(limit=self.config.history_limit)):
                self.inbox.put(event)
        except Exception:
            pass  # no history is not fatal; the poller reports outages
        while not worker.is_cancelled:
            try:
                stream = self.link.call(lambda b: b.subscribe_events(timeout=250))
            except Exception:
                time.sleep(1.0)
                continue
            try:
                while not worker.is_cancelled:
                    event = next(stream)
                    if event is not None:
                        self.inbox.put(event)
            except Exception:
                time.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    stream.close()

    @work(thread=True, exclusive=True, group="modules")
    def load_modules(self) -> None:
        """Import the MODULE arguments to learn their actors (for the enqueue form)."""
        import importlib

        import taskq

        if not self.config.modules:
            return
        try:
            broker = self.link.broker()
        except BrokerDown:
            return
        taskq.set_broker(broker)  # modules that do not set up a broker declare actors on ours
        found: dict[str, str] = {}
        for name in self.config.modules:
            try:
                importlib.import_module(name.split(":", 1)[0])
            except Exception as e:
                self.call_from_thread(self.notify, f"import {name} failed: {e}", severity="error")
        module_broker = taskq.get_broker()
        for actor_name in module_broker.get_declared_actors():
            found[actor_name] = module_broker.get_actor(actor_name).queue_name
        if module_broker is not broker:
            self.module_broker = module_broker
        self.call_from_thread(lambda: self.actor_queues.update(found))

    def call_with_middleware(self, kind: type[Any], fn: Callable[[Broker], T]) -> T:
        """Run ``fn`` on the imported modules' broker when it has middleware ``kind`` (their
        results backend, their abort marks), else on the TUI's broker. Worker threads only."""
        module_broker = self.module_broker
        if module_broker is not None and module_broker.get_middleware(kind) is not None:
            return fn(module_broker)
        return self.link.call(fn)

    # -- actions --------------------------------------------------------------------------
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Focus the main table of the tab, so its key bindings show in the footer."""
        selector = TAB_TABLES.get(event.pane.id or "")
        if selector:
            self.call_after_refresh(self._focus_tab_table, event.pane.id, selector)

    def _focus_tab_table(self, pane_id: str, selector: str) -> None:
        with contextlib.suppress(NoMatches, IndexError):
            if self.part(TabbedContent).active == pane_id:  # the user may have moved on
                self.part(selector).focus()

    def action_show_tab(self, tab: str) -> None:
        """Switch to one of the four tabs."""
        self.part(TabbedContent).active = tab
        self.part(TAB_TABLES[tab]).focus()

    def action_help(self) -> None:
        """Show every key binding."""
        views = [WorkersView, MessagesView, MetricsView, QueuesView]
        sections = [("Everywhere", list(self.BINDINGS))]
        sections += [(TABS[v.TAB], list(v.BINDINGS)) for v in views]
        self.push_screen(HelpScreen(sections))

    async def action_quit(self) -> None:
        """Quit; groups started here are stopped gracefully (confirm first if work is running)."""
        if self._quitting:
            return
        workers = self.part(WorkersView)
        running = workers.running_groups()
        in_flight = sum(s.get("in_flight", 0) for s in self.queue_stats.values())
        if running and in_flight:
            question = (
                f"{in_flight} message(s) are in flight. Stop {len(running)} worker group(s) "
                "gracefully and quit?"
            )
            self.push_screen(ConfirmScreen(question, "Stop and quit"), self._quit_confirmed)
            return
        self._quit_confirmed(True)

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed or self._quitting:  # a second TERM would kill the groups' workers
            return
        self._quitting = True
        workers = self.part(WorkersView)
        if workers.running_groups():
            self.notify("Stopping worker groups gracefully...")
            workers.stop_all_then(lambda: self.exit(0))
        else:
            self.exit(0)

    def _handle_hangups(self) -> None:
        """A closed terminal (HUP) or a TERM stops our worker groups gracefully, then exits."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._quit_confirmed, True)

    def on_terminal_gone(self, _: TerminalGone) -> None:
        """Output to the terminal failed (closed without a HUP reaching us): quit the same way."""
        self._quit_confirmed(True)

    async def on_unmount(self) -> None:
        for group in self.worker_groups.values():  # last resort: nothing may outlive the TUI
            if group.running:
                if not group.term_sent:
                    group.stop()
                if group.wait(10) is None:
                    group.kill()
        # Threads still reading from the broker must finish before its connection is closed.
        self.workers.cancel_all()
        await asyncio.to_thread(self._follow_stopped.wait, 3.0)
        await asyncio.to_thread(self.link.close)
