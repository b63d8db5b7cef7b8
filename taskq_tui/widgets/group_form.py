"""The form that launches a worker group; posts :class:`GroupForm.LaunchRequested`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label, Switch

from ..worker_groups import GroupSpec


class GroupForm(Horizontal):
    """Module, processes, threads, queues and gevent; Launch validates and posts a request."""

    DEFAULT_CSS = """
    GroupForm #gf-modules { width: 1fr; }
    GroupForm #gf-queues { width: 20; }
    GroupForm .gf-number { width: 8; }
    GroupForm .gf-label { padding: 1 0 0 1; }
    """

    class LaunchRequested(Message):
        """The user asked to launch ``spec``."""

        def __init__(self, spec: GroupSpec) -> None:
            super().__init__()
            self.spec = spec

    def __init__(self, modules: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.default_modules = modules

    def compose(self) -> ComposeResult:
        yield Input(
            self.default_modules, placeholder="module(s), e.g. myapp.tasks", id="gf-modules"
        )
        yield Label("procs", classes="gf-label")
        yield Input("1", id="gf-processes", type="integer", classes="gf-number")
        yield Label("threads", classes="gf-label")
        yield Input("8", id="gf-threads", type="integer", classes="gf-number")
        yield Input(placeholder="queues (all)", id="gf-queues")
        yield Label("gevent", classes="gf-label")
        yield Switch(False, id="gf-gevent")
        yield Button("Launch", variant="success", id="gf-launch")

    def build_spec(self) -> GroupSpec:
        """The spec the form describes; raises ValueError naming the bad field."""
        modules = self.query_one("#gf-modules", Input).value.split()
        try:
            processes = int(self.query_one("#gf-processes", Input).value or "1")
            threads = int(self.query_one("#gf-threads", Input).value or "8")
        except ValueError:
            raise ValueError("processes and threads must be whole numbers") from None
        return GroupSpec(
            modules=modules,
            processes=processes,
            threads=threads,
            queues=self.query_one("#gf-queues", Input).value.split(),
            gevent=self.query_one("#gf-gevent", Switch).value,
        )

    def request_launch(self) -> None:
        """Validate and post :class:`LaunchRequested` (or notify what is wrong)."""
        try:
            spec = self.build_spec()
        except ValueError as e:
            self.notify(str(e), severity="error", title="Cannot launch")
            return
        self.post_message(self.LaunchRequested(spec))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "gf-launch":
            event.stop()
            self.request_launch()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.request_launch()
