"""Loads the broker's Lua scripts (``lua/*.lua``), each prefixed by the shared
prelude, and registers them on a client so calls go through EVALSHA (SCRIPT LOAD on a miss)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

SCRIPT_NAMES = (
    "enqueue",
    "fetch",
    "ack",
    "nack",
    "requeue",
    "promote",
    "recover_worker",
    "expire_dead",
    "requeue_dead",
    "stats",
    "retire",
)


@cache
def script_source(name: str) -> str:
    """The full text of script ``name``: the prelude followed by the script itself."""
    folder = files("taskq.brokers.redis").joinpath("lua")
    prelude = folder.joinpath("_prelude.lua").read_text(encoding="utf-8")
    body = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return f"{prelude}\n{body}"


def register_scripts(client: Any) -> dict[str, Any]:
    """``{name: redis.commands.core.Script}`` for every broker script, bound to ``client``."""
    return {name: client.register_script(script_source(name)) for name in SCRIPT_NAMES}
