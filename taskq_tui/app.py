"""The taskq control room: header, the tabs of the registry in ``tabs.py``, footer.

The app owns the shared state (:class:`TuiContext`), runs broker IO in thread workers through
the :class:`BrokerController` (both set up in ``broker_sync.py``, its base class), and handles
the request messages views post (``requests.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from .broker_link import CONNECTED, DOWN, BrokerLink
from .broker_sync import BrokerSyncApp
from .commands import TaskqCommands
from .config import TuiConfig
from .demo_feed import DEMO_MODULE
from .feeds import feed_demo
from .requests import (
    AbortRequested,
    EnqueueRequested,
    PurgeRequested,
    RefreshRequested,
    RequeueRequested,
    RetryRequested,
)
from .screens.confirm import ConfirmScreen
from .screens.enqueue import EnqueueRequest, EnqueueScreen
from .screens.help import HelpScreen, help_sections
from .tabs import TABS, TABS_BY_ID
from .terminal_driver import TerminalGone, hangup_safe
from .views.messages import MessagesView
from .views.queues import QueuesView
from .views.workers import WorkersView
from .widgets.broker_header import BrokerHeader
from .widgets.connection_banner import ConnectionBanner
from .worker_groups import GroupSpec, WorkerGroup

#: The tab keys share one footer entry ("1 2 3 4 Tabs"), keeping room for the tab's own keys.
TAB_KEYS = Binding.Group("Tabs", compact=True)


class TaskqApp(BrokerSyncApp):
    """The Textual app: layout, dialogs, tabs and quitting, on the broker state kept by
    :class:`~taskq_tui.broker_sync.BrokerSyncApp`."""

    CSS_PATH = "app.tcss"
    TITLE = "taskq"
    COMMANDS = App.COMMANDS | {TaskqCommands}
    AUTO_FOCUS = None  # the active tab's main widget is focused instead (see focus_active_tab)
    BINDINGS = [
        *(Binding(tab.key, f"show_tab('{tab.id}')", tab.title, group=TAB_KEYS) for tab in TABS),
        Binding("e", "enqueue", "Enqueue"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, config: TuiConfig, link: BrokerLink | None = None) -> None:
        super().__init__(config, link)
        self._quitting = False

    @property
    def worker_groups(self) -> dict[str, WorkerGroup]:
        """Worker groups started from this TUI, by name."""
        return self.context.worker_groups

    def get_driver_class(self) -> Any:
        """On Linux, a driver that survives the terminal being closed (see terminal_driver)."""
        return hangup_safe(super().get_driver_class())

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        header = BrokerHeader(id="header")
        header.url = self.config.masked_url
        header.read_only = self.config.read_only
        header.demo = self.config.demo
        yield header
        yield ConnectionBanner(id="banner")
        with TabbedContent(initial="workers" if self.config.demo else "messages"):
            for tab in TABS:
                with TabPane(tab.title, id=tab.id):
                    bound = {name: getattr(type(self), name) for name in tab.data}
                    yield tab.view(self.context, id=tab.view_id).data_bind(**bound)
        yield Footer()

    def on_mount(self) -> None:
        self.part(ConnectionBanner).display = False
        self.call_after_refresh(self.focus_active_tab)
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

    def focus_active_tab(self) -> None:
        """Focus the main widget of the active tab, so its keys work and show in the footer."""
        with contextlib.suppress(NoMatches, IndexError):
            tab = TABS_BY_ID[self.part(TabbedContent).active]
            self.part(f"#{tab.view_id}").focus_main()

    # -- state ----------------------------------------------------------------------------
    def watch_broker_state(self, state: str) -> None:
        with contextlib.suppress(NoMatches, IndexError):  # not while shutting down
            self.part(BrokerHeader).state = state
            banner = self.part(ConnectionBanner)
            banner.error = self.broker_error
            banner.down = state == DOWN

    def known_actors(self) -> dict[str, str]:
        """Actor name → queue name, from imported modules and from messages seen."""
        actors = {a: "default" for a in self.messages.actors}
        for record in list(self.messages.records.values())[-200:]:
            if record.actor_name and record.queue_name:
                actors[record.actor_name] = record.queue_name
        actors.update(self.actor_queues)
        return dict(sorted(actors.items()))

    def refuse_if_read_only(self, what: str) -> bool:
        """True (and a notice) when read-only mode forbids ``what``."""
        if self.config.read_only:
            self.notify(f"Read-only mode: {what} is disabled.", severity="warning")
            return True
        return False

    def confirm_then(self, question: str, yes: str, then: Callable[[], object]) -> None:
        """Ask ``question``; run ``then`` only on yes."""

        def answered(ok: bool | None) -> None:
            if ok:
                then()

        self.push_screen(ConfirmScreen(question, yes), answered)

    # -- requests from the views ----------------------------------------------------------------
    def action_enqueue(self, actor_name: str = "") -> None:
        """Open the enqueue form (prefilled with ``actor_name`` when given)."""
        queue = self.known_actors().get(actor_name, "default")
        self.open_enqueue_form(EnqueueRequest(actor_name, queue))

    @on(EnqueueRequested)
    @on(RetryRequested)
    def handle_enqueue_requested(self, request: EnqueueRequested) -> None:
        self.open_enqueue_form(request.prefill, request.title)

    def open_enqueue_form(self, prefill: EnqueueRequest, title: str = "Enqueue a message") -> None:
        """Show the form; a submitted request is enqueued."""
        if self.refuse_if_read_only("enqueueing"):
            return

        def submitted(request: EnqueueRequest | None) -> None:
            if request is not None:
                self.run_broker_action(self.controller.enqueue_action(request), "Enqueue failed")

        # Only names the loaded modules declare are sent (none loaded: any name goes).
        self.push_screen(EnqueueScreen(title, prefill, self.actor_queues), submitted)

    @on(AbortRequested)
    def handle_abort_requested(self, request: AbortRequested) -> None:
        if self.refuse_if_read_only("aborting"):
            return
        if self.abort_reason:
            self.notify(self.abort_reason, title="Abort is off", severity="warning", timeout=15)
            return
        self.confirm_then(
            f"Abort message {request.message_id}?",
            "Abort",
            lambda: self.run_broker_action(
                self.controller.abort_action(request.message_id), "Abort failed"
            ),
        )

    @on(RequeueRequested)
    def handle_requeue_requested(self, request: RequeueRequested) -> None:
        if not request.message_ids or self.refuse_if_read_only("requeueing"):
            return
        queue, ids = request.queue_name, request.message_ids
        action = self.controller.requeue_action(queue, ids)
        self.confirm_then(
            f"Requeue {len(ids)} dead letter(s) of {queue!r}?",
            "Requeue",
            lambda: self.run_broker_action(action, "Requeue failed", self._reload_dead_letters),
        )

    @on(PurgeRequested)
    def handle_purge_requested(self, request: PurgeRequested) -> None:
        if self.refuse_if_read_only("purging"):
            return
        queue = request.queue_name
        dead = self.queue_stats.get(queue, {}).get("dead", "all")
        action = self.controller.purge_action(queue)
        self.confirm_then(
            f"Permanently delete {dead} dead letter(s) of {queue!r}?",
            "Purge",
            lambda: self.run_broker_action(action, "Purge failed", self._reload_dead_letters),
        )

    def _reload_dead_letters(self) -> None:
        self.part(QueuesView).reload_dead_letters()

    @on(RefreshRequested)
    def handle_refresh_requested(self) -> None:
        self.poll_broker()

    @on(MessagesView.PauseToggled)
    def handle_pause_toggled(self, event: MessagesView.PauseToggled) -> None:
        self.part(BrokerHeader).paused = event.paused

    # -- tabs and help ------------------------------------------------------------------------
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Focus the main widget of the tab, so its key bindings show in the footer."""
        self.call_after_refresh(self.focus_active_tab)

    def action_show_tab(self, tab: str) -> None:
        """Switch to one of the tabs."""
        self.part(TabbedContent).active = tab
        self.focus_active_tab()

    def action_help(self) -> None:
        """Show every key binding, as the footer shows them (keys a view turns off now are
        left out)."""
        views = [(tab.title, self.part(f"#{tab.view_id}")) for tab in TABS]
        self.push_screen(HelpScreen(help_sections(self, views)))

    # -- demo ---------------------------------------------------------------------------------
    def start_demo(self) -> None:
        """Launch a worker group on the demo actors and a gentle stream of messages."""

        spec = GroupSpec([DEMO_MODULE], processes=2, threads=4, broker_url=self.config.broker_url)
        self.part(WorkersView).launch(spec)
        self.demo_feed()

    @work(thread=True, exclusive=True, group="demo")
    def demo_feed(self) -> None:
        """Send a demo message every ~0.6 s until the app exits."""
        worker = get_current_worker()
        feed_demo(self.controller, lambda: worker.is_cancelled)

    # -- quitting -----------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; groups started here are stopped gracefully (confirm first if work is running)."""
        if self._quitting:
            return
        running = self.part(WorkersView).running_groups()
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
