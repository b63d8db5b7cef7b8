"""enqueue_form: fields from type hints, inline validation, Send, batched copies."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import ipywidgets as widgets
import pytest

import taskq
from taskq.notebook import enqueue_form
from taskq.notebook.fields import FieldError, field_specs

from .conftest import Colour


def test_form_fields_follow_the_signature_and_type_hints(actors: SimpleNamespace) -> None:
    form = enqueue_form(actors.label)

    assert list(form.fields) == ["size", "colour", "unit", "loud", "tags"]
    assert isinstance(form.fields["size"], widgets.Text)
    assert isinstance(form.fields["colour"], widgets.Dropdown)
    assert list(form.fields["colour"].options) == [("RED", Colour.RED), ("BLUE", Colour.BLUE)]
    assert form.fields["colour"].value is Colour.RED
    assert list(form.fields["unit"].options) == [("cm", "cm"), ("m", "m")]
    assert isinstance(form.fields["loud"], widgets.Checkbox)
    assert isinstance(form.fields["tags"], widgets.Textarea)  # list[str] | None: JSON
    assert form.fields["size"].description == "size *"  # required


def test_send_enqueues_the_typed_values_and_a_worker_runs_them(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace, worker: Any
) -> None:
    form = enqueue_form(actors.label)
    form.fields["size"].value = "2.5"
    form.fields["colour"].value = Colour.BLUE
    form.fields["unit"].value = "m"
    form.fields["loud"].value = True
    form.fields["tags"].value = '["a", "b"]'

    form.send_button.click()

    assert len(form.sent) == 1
    message = form.sent[0]
    assert message.actor_name == "label"
    assert message.kwargs == {
        "size": 2.5,
        "colour": "blue",
        "unit": "m",
        "loud": True,
        "tags": ["a", "b"],
    }
    assert message.message_id in form.sent_list.value
    assert all(error.value == "" for error in form.errors.values())
    assert message.get_result(block=True, timeout=30_000) == "2.5 M BLUE A,B"


def test_invalid_fields_show_errors_inline_and_send_nothing(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace
) -> None:
    form = enqueue_form(actors.label)
    form.fields["size"].value = "large"
    form.fields["tags"].value = "[1, 2"

    form.send_button.click()

    assert form.sent == []
    assert "not a number" in form.errors["size"].value
    assert "not valid JSON" in form.errors["tags"].value
    assert form.errors["unit"].value == ""
    assert "Not sent" in form.status.value
    assert sqlite_broker.queue_stats()["default"]["ready"] == 0

    form.fields["size"].value = ""
    form.send_button.click()
    assert "required" in form.errors["size"].value


def test_copies_are_sent_in_one_batched_enqueue(
    sqlite_broker: taskq.Broker,
    actors: SimpleNamespace,
    worker: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches: list[int] = []
    original = sqlite_broker.enqueue_many

    def counting_enqueue_many(messages: Any, **kwargs: Any) -> Any:
        messages = list(messages)
        batches.append(len(messages))
        return original(messages, **kwargs)

    monkeypatch.setattr(sqlite_broker, "enqueue_many", counting_enqueue_many)
    form = enqueue_form(actors.add)
    form.fields["x"].value = "40"
    form.fields["y"].value = "2"
    form.copies.value = 5

    form.send_button.click()

    assert batches == [5]
    assert len({m.message_id for m in form.sent}) == 5
    assert [m.get_result(block=True, timeout=30_000) for m in form.sent] == [42] * 5
    assert "5 sent" in form.sent_list.value


def test_form_watch_follows_what_was_sent(
    actors: SimpleNamespace, worker: Any, widgets_on: None
) -> None:
    form = enqueue_form(actors.add)
    form.fields["x"].value = "1"
    form.send_button.click()
    form.fields["x"].value = "2"
    form.send_button.click()

    watch = form.watch()

    assert watch.wait(timeout=30_000)
    assert sorted(watch.results.values()) == [1, 2]


def test_field_parsing_rules() -> None:
    def fn(
        a: int, b: float = 1.5, c: str = "", d: int | None = None, *rest: Any, **extra: Any
    ) -> None: ...

    a, b, c, d, rest, extra = field_specs(fn)
    assert a.parse(" 7 ") == 7
    with pytest.raises(FieldError, match="not an integer"):
        a.parse("7.5")
    with pytest.raises(FieldError, match="required"):
        a.parse("")
    assert b.parse("") == 1.5
    assert c.parse("") == ""
    assert d.parse("") is None and d.kind == "int"
    assert rest.parse("[1, 2]") == [1, 2]
    with pytest.raises(FieldError, match="JSON list"):
        rest.parse('{"a": 1}')
    with pytest.raises(FieldError, match="JSON object"):
        extra.parse("[1]")
