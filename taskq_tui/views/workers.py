"""Workers tab: launch `taskq worker` groups, watch their processes, signal them, read logs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Static

from ..formatting import duration, size
from ..widgets.group_form import GroupForm
from ..worker_groups import GroupSpec, ProcessRow, WorkerGroup
from .base import TabView

STALE_HEARTBEAT_S = 30
#: Seconds groups get to stop gracefully when the TUI quits, then to die once killed.
STOP_GRACE_S = 20
KILL_GRACE_S = 5


class WorkersView(TabView):
    """Worker groups started here (master + children), and workers seen through heartbeats."""

    DEFAULT_CSS = """
    WorkersView #group-form { height: 3; }
    WorkersView #process-table { height: 1fr; min-height: 6; }
    WorkersView #signal-buttons { height: 3; }
    WorkersView #signal-buttons Button { min-width: 12; margin-right: 1; }
    WorkersView #workers-bottom { height: 12; }
    WorkersView #group-log {
        width: 2fr; border: round $primary-darken-2; padding: 0 1; overflow: hidden;
    }
    WorkersView #heartbeat-table { width: 1fr; }
    """

    MAIN = "#process-table"
    BINDINGS = [
        Binding("l", "launch", "Launch group"),
        Binding("m", "edit_form", "Form", tooltip="Edit the launch form (module, processes...)"),
        Binding("h", "signal('hup')", "HUP", tooltip="Reload: fresh workers, same master"),
        Binding("t", "signal('term')", "TERM", tooltip="Graceful stop"),
        Binding("k", "signal('kill')", "KILL"),
        Binding("plus", "restart(1)", "More", tooltip="Restart with one process more"),
        Binding("minus", "restart(-1)", "Fewer", tooltip="Restart with one process fewer"),
        Binding("x", "clear_exited", "Clear exited", show=False),
    ]

    selected_group: reactive[str] = reactive("")
    #: Bound to the app's latest poll: workers known to the broker through heartbeats.
    heartbeats: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_group = 1
        self._heartbeat_pids: dict[str, int] = {}

    @property
    def groups(self) -> dict[str, WorkerGroup]:
        """Groups started from this TUI, by name (kept by the context, which outlives the view)."""
        return self.context.worker_groups

    def compose(self) -> ComposeResult:
        modules = " ".join(self.context.config.modules)
        yield GroupForm(modules, id="group-form")
        table: DataTable[str] = DataTable(id="process-table", cursor_type="row")
        table.add_column("Group", width=6)
        table.add_column("Role", width=7)
        table.add_column("PID", width=8)
        table.add_column("State", width=34)
        table.add_column("Uptime", width=7)
        table.add_column("CPU%", width=6)
        table.add_column("RSS", width=9)
        table.add_column("Done", width=6)
        yield table
        with Horizontal(id="signal-buttons"):
            yield Button("HUP reload", id="btn-hup")
            yield Button("TERM stop", id="btn-term", variant="warning")
            yield Button("KILL", id="btn-kill", variant="error")
            yield Button("Restart +1", id="btn-more")
            yield Button("Restart -1", id="btn-fewer")
        with Horizontal(id="workers-bottom"):
            yield Static("No group selected.", id="group-log")
            beats: DataTable[str] = DataTable(id="heartbeat-table", cursor_type="row")
            beats.add_column("Worker (heartbeats)", width=20)
            beats.add_column("Last seen", width=10)
            beats.add_column("State", width=6)
            yield beats

    def on_mount(self) -> None:
        if self.context.config.live:
            self.set_interval(1.0, self.collect_rows)

    def watch_heartbeats(self, beats: list[dict[str, Any]]) -> None:
        self.show_heartbeats(beats)

    def action_launch(self) -> None:
        """Launch a group as the form above describes."""
        self.query_one(GroupForm).request_launch()

    def action_edit_form(self) -> None:
        """Focus the launch form's module field."""
        self.query_one("#gf-modules").focus()

    # -- launching ------------------------------------------------------------------------------
    @on(GroupForm.LaunchRequested)
    def on_launch_requested(self, event: GroupForm.LaunchRequested) -> None:
        self.launch(event.spec)

    def launch(self, spec: GroupSpec, name: str | None = None) -> WorkerGroup | None:
        """Start a group (refused in read-only mode); returns it."""
        if self.refuse_if_read_only("launching workers"):
            return None
        spec.broker_url = spec.broker_url or self.context.config.broker_url
        if name is None:
            name, self._next_group = f"g{self._next_group}", self._next_group + 1
        group = WorkerGroup(name, spec, cwd=self.context.config.worker_cwd)
        self.groups[name] = group
        self.selected_group = name
        self._start_group(group)
        return group

    @work(thread=True, group="launch")
    def _start_group(self, group: WorkerGroup) -> None:
        try:
            pid = group.start()
        except OSError as e:
            group.log.append(f"[could not start: {e}]")
            self.app.call_from_thread(self.notify, f"Launch failed: {e}", severity="error")
            return
        # Its own thread: reading lasts as long as the group, it must not hold a slot of the
        # thread pool the pollers and actions share.
        reader = threading.Thread(
            target=group.read_output, name=f"taskq-tui-log-{group.name}", daemon=True
        )
        reader.start()
        self.app.call_from_thread(self.notify, f"Started group {group.name} (master {pid})")

    def running_groups(self) -> list[WorkerGroup]:
        """Groups whose master is alive."""
        return [g for g in self.groups.values() if g.running]

    # -- the process table ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="process-rows")
    def collect_rows(self) -> None:
        """Gather psutil figures off the event loop."""
        now = self.context.config.clock()
        rows = [row for group in list(self.groups.values()) for row in group.rows(now)]
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[ProcessRow]) -> None:
        """Replace the table's rows, keeping the cursor on the same process when possible."""
        if not self.query("#process-table"):  # collected while the app closed: nowhere to show
            return
        table = self.query_one("#process-table", DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            done = self.context.messages.done_by_pid(row.pid) if row.role == "worker" else ""
            table.add_row(
                row.group,
                row.role,
                str(row.pid),
                row.state,
                duration(row.uptime_s) if row.uptime_s else "-",
                f"{row.cpu_percent:.1f}",
                size(row.rss_bytes) if row.rss_bytes else "-",
                str(done),
                key=f"{row.group}:{row.pid}",
            )
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        self.show_log()

    @on(DataTable.RowHighlighted, "#process-table")
    def on_process_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.selected_group = event.row_key.value.split(":", 1)[0]

    def watch_selected_group(self) -> None:
        self.show_log()

    def show_log(self) -> None:
        """The last lines of the selected group's output."""
        group = self.groups.get(self.selected_group)
        widget = self.query_one("#group-log", Static)
        if group is None:
            widget.update("No group selected.")
            return
        visible = max(1, widget.content_size.height - 1)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{group.name} ", style="bold")
        text.append(f"{' '.join(group.spec.modules)} -p {group.spec.processes} · {group.state}")
        for line in list(group.log)[-visible:]:
            text.append("\n" + line, style="red" if "ERROR" in line else "")
        widget.update(text)

    # -- signals ----------------------------------------------------------------------------------
    def action_signal(self, kind: str) -> None:
        """HUP / TERM / KILL the selected group (or the selected heartbeat worker, if local)."""
        if self.refuse_if_read_only(f"sending {kind.upper()}"):
            return
        if self.query_one("#heartbeat-table", DataTable).has_focus:
            self._signal_heartbeat_worker(kind)
            return
        group = self.groups.get(self.selected_group)
        if group is None:
            self.notify("Select a group first (launch one above).", severity="warning")
            return
        sent = {"hup": group.reload, "term": group.stop, "kill": group.kill}[kind]()
        if not sent:
            self.notify(f"Group {group.name} is not running.", severity="warning")
        self.show_log()

    def _signal_heartbeat_worker(self, kind: str) -> None:
        table = self.query_one("#heartbeat-table", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        pid = self._heartbeat_pids.get(key or "")
        if pid is None:
            self.notify("That worker is not on this machine.", severity="warning")
            return
        sig = {"hup": signal.SIGHUP, "term": signal.SIGTERM, "kill": signal.SIGKILL}[kind]
        try:
            os.kill(pid, sig)
        except OSError as e:
            self.notify(f"Could not signal {pid}: {e}", severity="error")

    @on(Button.Pressed, "#signal-buttons Button")
    def on_signal_button(self, event: Button.Pressed) -> None:
        actions = {
            "btn-hup": lambda: self.action_signal("hup"),
            "btn-term": lambda: self.action_signal("term"),
            "btn-kill": lambda: self.action_signal("kill"),
            "btn-more": lambda: self.action_restart(1),
            "btn-fewer": lambda: self.action_restart(-1),
        }
        actions[event.button.id or ""]()

    def action_restart(self, delta: int) -> None:
        """Stop the selected group gracefully, then start it again with ``delta`` more processes."""
        if self.refuse_if_read_only("restarting workers"):
            return
        group = self.groups.get(self.selected_group)
        if group is None:
            return
        processes = max(1, min(64, group.spec.processes + delta))
        spec = GroupSpec(**{**group.spec.__dict__, "processes": processes})
        self.notify(f"Restarting {group.name} with {processes} process(es)...")
        self._restart(group, spec)

    @work(thread=True, group="restart")
    def _restart(self, group: WorkerGroup, spec: GroupSpec) -> None:
        if group.running:
            group.stop()
            if group.wait(30) is None:
                group.kill()
                group.wait(5)
        self.app.call_from_thread(self.launch, spec, group.name)

    def action_clear_exited(self) -> None:
        """Forget groups whose master has exited."""
        for name in [n for n, g in self.groups.items() if not g.running]:
            del self.groups[name]
        self.collect_rows()

    # -- shutdown ---------------------------------------------------------------------------------
    def stop_all_then(self, done: Callable[[], None]) -> None:
        """TERM every running group now, wait for them (KILL after 20 s), then call ``done``.

        The TERM goes out at once from the event loop (a signal does not block) and the wait is
        an async worker: queued in the shared thread pool, behind pollers slowed by a busy
        machine, the TERM used to leave seconds late."""
        groups = self.running_groups()
        for group in groups:
            group.stop()
        self._wait_stopped(groups, done)

    @work(exclusive=True, group="stop-all")
    async def _wait_stopped(self, groups: list[WorkerGroup], done: Callable[[], None]) -> None:
        for grace, then_kill in ((STOP_GRACE_S, True), (KILL_GRACE_S, False)):
            deadline = time.monotonic() + grace
            while any(g.running for g in groups) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if then_kill:
                for group in groups:
                    group.kill()
        done()

    # -- heartbeats -------------------------------------------------------------------------------
    def show_heartbeats(self, beats: list[dict[str, Any]]) -> None:
        """Workers known to the broker; stale ones are shown as dead until the broker drops them."""
        table = self.query_one("#heartbeat-table", DataTable)
        table.clear()
        now_ms = self.context.config.clock() * 1000
        host = socket.gethostname()
        self._heartbeat_pids.clear()
        for beat in beats:
            worker_id = str(beat.get("worker_id", "?"))
            age = (now_ms - float(beat.get("last_seen", now_ms))) / 1000
            state = "dead?" if age > STALE_HEARTBEAT_S else "alive"
            if beat.get("pid") and beat.get("hostname", host) == host:
                self._heartbeat_pids[worker_id] = int(beat["pid"])
            table.add_row(worker_id, f"{duration(age)} ago", state, key=worker_id)
