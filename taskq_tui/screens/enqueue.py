"""The enqueue form: actor, queue, JSON args and kwargs, delay. Also used to retry with edits."""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass
class EnqueueRequest:
    """A validated request to enqueue one message."""

    actor_name: str
    queue_name: str = "default"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    delay_ms: int | None = None


#: At most this many known actors are listed in the form's error.
LISTED_ACTORS = 12


def unknown_actor_error(actor: str, known_actors: Collection[str]) -> str:
    """Why ``actor`` is refused: no loaded module declares it; the closest known name first,
    then the known actors."""
    known = sorted(known_actors)
    close = difflib.get_close_matches(actor, known, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    listed = ", ".join(known[:LISTED_ACTORS]) + (", ..." if len(known) > LISTED_ACTORS else "")
    return (
        f"Actor: no loaded module declares {actor!r}, so a worker would dead-letter it.{hint} "
        f"Known actors: {listed}"
    )


def parse_request(
    actor: str,
    queue: str,
    args: str,
    kwargs: str,
    delay: str,
    *,
    known_actors: Collection[str] = (),
) -> EnqueueRequest:
    """Validate the form fields; raises ValueError naming the field that is wrong.

    ``known_actors``: the actors the loaded modules declare; when given, any other name is
    refused (empty: no module loaded, so any name is accepted)."""
    actor, queue = actor.strip(), (queue.strip() or "default")
    if not actor:
        raise ValueError("Actor: give the name of the actor to send to")
    if known_actors and actor not in known_actors:
        raise ValueError(unknown_actor_error(actor, known_actors))
    try:
        parsed_args = json.loads(args or "[]")
    except json.JSONDecodeError as e:
        raise ValueError(f"Args: not valid JSON ({e.msg})") from None
    if not isinstance(parsed_args, list):
        raise ValueError('Args: must be a JSON list, e.g. [1, "two"]')
    try:
        parsed_kwargs = json.loads(kwargs or "{}")
    except json.JSONDecodeError as e:
        raise ValueError(f"Kwargs: not valid JSON ({e.msg})") from None
    if not isinstance(parsed_kwargs, dict):
        raise ValueError('Kwargs: must be a JSON object, e.g. {"x": 1}')
    delay_ms = None
    if delay.strip():
        try:
            delay_ms = int(delay)
        except ValueError:
            raise ValueError("Delay: a whole number of milliseconds") from None
        if delay_ms < 0:
            raise ValueError("Delay: must not be negative")
    return EnqueueRequest(actor, queue, parsed_args, parsed_kwargs, delay_ms or None)


class EnqueueScreen(ModalScreen[EnqueueRequest | None]):
    """Dismisses with an :class:`EnqueueRequest`, or None when cancelled."""

    DEFAULT_CSS = """
    EnqueueScreen { align: center middle; }
    EnqueueScreen .dialog {
        width: 80; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    EnqueueScreen .dialog-title { text-style: bold; margin-bottom: 1; }
    EnqueueScreen .dialog-buttons { height: 3; margin-top: 1; }
    EnqueueScreen .dialog-buttons Button { margin-right: 2; }
    EnqueueScreen .form-row { height: 3; }
    EnqueueScreen .form-label { width: 22; padding-top: 1; }
    EnqueueScreen .form-row Input { width: 1fr; }
    EnqueueScreen #enqueue-error { height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str = "Enqueue a message",
        prefill: EnqueueRequest | None = None,
        known_actors: Collection[str] = (),
    ):
        super().__init__()
        self.title_text = title
        self.prefill = prefill or EnqueueRequest(actor_name="")
        #: The actors the loaded modules declare; any other name is refused (see parse_request).
        self.known_actors = frozenset(known_actors)

    def compose(self) -> ComposeResult:
        p = self.prefill
        with Vertical(id="enqueue-dialog", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            for label, field_id, value, placeholder in (
                ("Actor", "enqueue-actor", p.actor_name, "actor name"),
                ("Queue", "enqueue-queue", p.queue_name, "default"),
                ("Args (JSON list)", "enqueue-args", json.dumps(p.args), "[]"),
                ("Kwargs (JSON object)", "enqueue-kwargs", json.dumps(p.kwargs), "{}"),
                ("Delay ms", "enqueue-delay", str(p.delay_ms or ""), "0"),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(value=value, placeholder=placeholder, id=field_id)
            yield Static("", id="enqueue-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Enqueue", variant="primary", id="enqueue-submit")
                yield Button("Cancel", id="enqueue-cancel")

    def on_mount(self) -> None:
        self.query_one("#enqueue-actor" if not self.prefill.actor_name else "#enqueue-args").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "enqueue-submit":
            self.submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        """Validate and dismiss with the request, or show what is wrong."""
        values = [
            self.query_one(f"#enqueue-{name}", Input).value
            for name in ("actor", "queue", "args", "kwargs", "delay")
        ]
        try:
            request = parse_request(*values, known_actors=self.known_actors)
        except ValueError as e:
            self.query_one("#enqueue-error", Static).update(f"[red]{escape(str(e))}[/red]")
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)
