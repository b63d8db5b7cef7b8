"""Parameters → form fields: parse what a user typed into the value an actor expects.

Widget-free on purpose: :mod:`taskq.notebook.form` builds widgets from these specs and the
parsing rules are testable without a kernel.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

MISSING = inspect.Parameter.empty


class FieldError(ValueError):
    """What the user typed into one field cannot become the value the actor expects."""


@dataclass
class FieldSpec:
    """One form field: ``kind`` is int, float, str, bool, choice or json."""

    name: str
    kind: str
    annotation: Any
    default: Any = MISSING
    choices: tuple[Any, ...] = ()
    optional: bool = False
    parameter_kind: inspect._ParameterKind = inspect.Parameter.POSITIONAL_OR_KEYWORD

    @property
    def required(self) -> bool:
        """True when the parameter has no default and does not accept None."""
        return self.default is MISSING and not self.optional

    def initial_text(self) -> str:
        """What the field shows before the user types (the default, as the user would type it)."""
        if self.default is MISSING or self.default is None:
            return ""
        if self.kind == "json":
            return json.dumps(self.default)
        return str(self.default)

    def parse(self, value: Any) -> Any:
        """Turn a widget value into the argument; raise :class:`FieldError` saying what is wrong."""
        if self.kind == "bool":
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise FieldError(f"choose one of {', '.join(map(str, self.choices))}")
            return value.value if isinstance(value, enum.Enum) else value
        text = "" if value is None else str(value)
        if text.strip() == "":
            if self.default is not MISSING:
                return self.default
            if self.optional:
                return None
            if self.kind != "str":
                raise FieldError("required")
            return text
        if self.kind == "int":
            try:
                return int(text.strip())
            except ValueError:
                raise FieldError(f"{text!r} is not an integer") from None
        if self.kind == "float":
            try:
                return float(text.strip())
            except ValueError:
                raise FieldError(f"{text!r} is not a number") from None
        if self.kind == "json":
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as e:
                raise FieldError(f"not valid JSON ({e.msg} at column {e.colno})") from None
            return _check_json_shape(self, parsed)
        return text


def _check_json_shape(spec: FieldSpec, parsed: Any) -> Any:
    if spec.parameter_kind is inspect.Parameter.VAR_POSITIONAL and not isinstance(parsed, list):
        raise FieldError("expected a JSON list of extra positional arguments")
    if spec.parameter_kind is inspect.Parameter.VAR_KEYWORD and not isinstance(parsed, dict):
        raise FieldError("expected a JSON object of extra keyword arguments")
    origin = get_origin(spec.annotation) or spec.annotation
    json_types: dict[type, type] = {list: list, dict: dict, tuple: list}
    expected = json_types.get(origin) if isinstance(origin, type) else None
    if expected is not None and not isinstance(parsed, expected):
        raise FieldError(f"expected a JSON {'object' if expected is dict else 'list'}")
    return parsed


def field_specs(fn: Callable[..., Any]) -> list[FieldSpec]:
    """A :class:`FieldSpec` per parameter of ``fn``, from its signature and type hints."""
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {name: p.annotation for name, p in signature.parameters.items()}
    specs = []
    for name, parameter in signature.parameters.items():
        annotation = hints.get(name, MISSING)
        kind, choices, optional = _classify(annotation)
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            kind, choices = "json", ()
        specs.append(
            FieldSpec(
                name=name,
                kind=kind,
                annotation=annotation,
                default=parameter.default,
                choices=choices,
                optional=optional,
                parameter_kind=parameter.kind,
            )
        )
    return specs


def _classify(annotation: Any) -> tuple[str, tuple[Any, ...], bool]:
    """(kind, choices, optional) for a type hint."""
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(members) < len(get_args(annotation))
        if len(members) != 1:
            return "json", (), optional
        annotation = members[0]
    if get_origin(annotation) is Literal:
        return "choice", tuple(get_args(annotation)), optional
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(annotation), optional
    simple = {bool: "bool", int: "int", float: "float", str: "str"}
    if annotation in simple:
        return simple[annotation], (), optional
    return "json", (), optional


def build_call(
    specs: list[FieldSpec], values: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, str]]:
    """Parse every field: ``(args, kwargs, errors)`` where ``errors`` maps a field to its problem.

    Positional-only and ``*args`` parameters go into ``args``; the others are sent by name.
    """
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        try:
            value = spec.parse(values.get(spec.name))
        except FieldError as e:
            errors[spec.name] = str(e)
            continue
        if spec.parameter_kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(value)
        elif spec.parameter_kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value if value is not MISSING and value is not None else [])
        elif spec.parameter_kind is inspect.Parameter.VAR_KEYWORD:
            kwargs.update(value if value is not MISSING and value is not None else {})
        elif value is not MISSING:
            kwargs[spec.name] = value
    return tuple(args), kwargs, errors
