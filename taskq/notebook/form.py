"""``enqueue_form(actor)``: a form generated from an actor's signature, with a Send button."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ._env import display_live, require_ipywidgets
from ._render import html_table
from .fields import MISSING, FieldSpec, build_call, field_specs

if TYPE_CHECKING:
    from ..actor import Actor
    from ..message import Message

#: Sent message ids listed under the form (newest first).
LISTED_IDS = 20


class EnqueueForm:
    """A form for one actor: a field per parameter, copies and delay, Send, and the sent ids.

    ``fields`` maps a parameter name to its widget and ``errors`` to the widget showing its
    validation error; ``send()`` (or clicking ``send_button``) validates every field and either
    shows the errors inline or enqueues the messages (several copies in one batched
    ``enqueue_many``). ``sent`` lists every message sent from this form.
    """

    def __init__(self, actor: Actor[..., Any], *, display: bool = True) -> None:
        widgets = require_ipywidgets("enqueue_form")
        self.actor = actor
        self.specs: list[FieldSpec] = field_specs(actor.fn)
        self.fields: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        rows = []
        for spec in self.specs:
            field = _widget_for(widgets, spec)
            error = widgets.HTML(value="")
            self.fields[spec.name] = field
            self.errors[spec.name] = error
            rows.append(widgets.HBox([field, error]))
        style = {"description_width": "initial"}
        self.copies = widgets.BoundedIntText(
            value=1, min=1, max=100_000, description="copies", style=style
        )
        self.delay = widgets.BoundedIntText(
            value=0, min=0, max=10**10, description="delay (ms)", style=style
        )
        self.send_button = widgets.Button(
            description=f"Send to {actor.actor_name}", button_style="primary", icon="paper-plane"
        )
        self.send_button.on_click(lambda _button: self.send())
        self.status = widgets.HTML(value="")
        self.sent_list = widgets.HTML(value="")
        self.sent: list[Message[Any]] = []
        title = widgets.HTML(
            value=f"<b>{html.escape(actor.actor_name)}</b> on queue <code>{html.escape(actor.queue_name)}</code>"
        )
        self.box = widgets.VBox(
            [
                title,
                *rows,
                widgets.HBox([self.copies, self.delay]),
                self.send_button,
                self.status,
                self.sent_list,
            ]
        )
        self.handle = display_live(self) if display else None

    def values(self) -> dict[str, Any]:
        """The raw value of every field, by parameter name."""
        return {name: field.value for name, field in self.fields.items()}

    def send(self) -> list[Message[Any]]:
        """Validate and enqueue; returns the sent messages (empty when a field is invalid)."""
        args, kwargs, problems = build_call(self.specs, self.values())
        for name, error in self.errors.items():
            problem = problems.get(name)
            error.value = (
                f"<span style='color:#dc2626'>⚠ {html.escape(problem)}</span>" if problem else ""
            )
        if problems:
            self.status.value = (
                f"<span style='color:#dc2626'>Not sent: fix {len(problems)} field(s): "
                f"{html.escape(', '.join(problems))}</span>"
            )
            return []
        try:
            messages = self._enqueue(args, kwargs)
        except Exception as e:  # a broker error is shown, not raised into the event loop
            self.status.value = f"<span style='color:#dc2626'>Not sent: {html.escape(f'{type(e).__name__}: {e}')}</span>"
            return []
        self.sent.extend(messages)
        self.status.value = (
            f"Sent {len(messages)} message(s) to <code>{html.escape(self.actor.actor_name)}</code>."
        )
        self._list_sent()
        if self.handle is not None:  # the saved notebook then lists what was sent
            self.handle.update(self)
        return messages

    def _enqueue(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Message[Any]]:
        delay = int(self.delay.value) or None
        copies = int(self.copies.value)
        if copies == 1:
            return [self.actor.send_with_options(args=args, kwargs=kwargs, delay=delay)]
        messages = [
            self.actor.message_with_options(args=args, kwargs=kwargs) for _ in range(copies)
        ]
        return list(self.actor.broker.enqueue_many(messages, delay=delay))

    def _list_sent(self) -> None:
        latest = list(reversed(self.sent[-LISTED_IDS:]))
        self.sent_list.value = html_table(
            ["sent message id", "call"],
            ([m.message_id, str(m)] for m in latest),
            caption=f"{len(self.sent)} sent",
        )

    def watch(self, **kwargs: Any) -> Any:
        """Watch every message sent from this form so far."""
        from .watch import Watch

        return Watch(list(self.sent), broker=self.actor.broker, **kwargs).show()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_() or {})
        bundle["text/plain"] = (
            f"<taskq enqueue form for {self.actor.actor_name}: {len(self.sent)} sent>"
        )
        bundle["text/html"] = (
            f"<div>taskq enqueue form for <b>{html.escape(self.actor.actor_name)}</b> "
            f"(interactive in a live notebook)</div>" + self.sent_list.value
        )
        return bundle


def _widget_for(widgets: Any, spec: FieldSpec) -> Any:
    style = {"description_width": "initial"}
    label = spec.name + ("" if not spec.required else " *")
    hint = _type_hint_text(spec)
    if spec.kind == "bool":
        return widgets.Checkbox(
            value=bool(spec.default) if spec.default is not MISSING else False,
            description=label,
            indent=False,
        )
    if spec.kind == "choice":
        options = [(str(c.name if hasattr(c, "name") else c), c) for c in spec.choices]
        value = spec.default if spec.default in spec.choices else spec.choices[0]
        return widgets.Dropdown(options=options, value=value, description=label, style=style)
    if spec.kind == "json":
        return widgets.Textarea(
            value=spec.initial_text(), placeholder=hint, description=label, style=style, rows=1
        )
    return widgets.Text(value=spec.initial_text(), placeholder=hint, description=label, style=style)


def _type_hint_text(spec: FieldSpec) -> str:
    if spec.kind == "json":
        return "JSON" + (
            ""
            if spec.annotation is MISSING
            else f" ({getattr(spec.annotation, '__name__', spec.annotation)})"
        )
    return spec.kind + (" or empty" if spec.optional else "")
