"""The one lookup order for an option: the message's, else its actor's, else a default.

Options came with three rules for when a level counts as unset, and each is kept where it was
(programs rely on them; the Dramatiq middleware they mirror behave the same way):

- ``"missing"`` (the default): only an absent option falls through, so an option set to None
  or False on the message wins (retries, results, pipe_ignore, abortable);
- ``"none"``: an option set to None falls through as well, at both levels (store_results as
  the producer checks it, notify_shutdown);
- ``"falsy"``: a falsy option on the message (0, "", None) falls through to the actor's, as in
  Dramatiq's ``message.options.get(name) or actor.options.get(name, default)`` (time_limit,
  max_age, on_success, on_failure, throws).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Unset = Literal["missing", "none", "falsy"]

_ABSENT = object()


def lookup_option(
    name: str,
    message_options: Mapping[str, Any],
    actor_options: Mapping[str, Any] | None,
    default: Any = None,
    *,
    unset: Unset = "missing",
) -> Any:
    """``name`` from ``message_options``, else ``actor_options`` (None: no actor), else
    ``default``; ``unset`` says which values fall through (see the module docstring)."""
    value = message_options.get(name, _ABSENT)
    if value is not _ABSENT:
        if unset == "missing":
            return value
        if (value is not None) if unset == "none" else bool(value):
            return value
    value = _ABSENT if actor_options is None else actor_options.get(name, _ABSENT)
    if value is _ABSENT or (unset == "none" and value is None):
        return default
    return value
