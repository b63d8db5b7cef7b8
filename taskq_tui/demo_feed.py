"""The gentle stream of demo messages (built by name, so the TUI never imports the actors)."""

from __future__ import annotations

import random
from typing import Any

from taskq.message import Message

DEMO_MODULE = "taskq_tui.demo_actors"
NAMES = ["ada", "grace", "linus", "guido", "barbara"]


def demo_message(rng: random.Random) -> tuple[Message[Any], int | None]:
    """One random demo message and its delay in ms (None when not delayed)."""
    roll = rng.random()
    if roll < 0.35:
        return _message("demo", "add", [rng.randint(0, 99), rng.randint(0, 99)]), None
    if roll < 0.55:
        return _message("demo", "greet", [rng.choice(NAMES)]), None
    if roll < 0.75:
        return _message("demo", "flaky", [], {"chance": 0.5}), None
    if roll < 0.88:
        path = f"img/{rng.randint(1, 999)}.png"
        return _message("demo-slow", "resize_image", [path], {"seconds": rng.uniform(1, 3)}), None
    return _message("demo-slow", "send_report", [rng.choice(NAMES)]), rng.randint(2000, 8000)


def _message(
    queue: str, actor: str, args: list[Any], kwargs: dict[str, Any] | None = None
) -> Message[Any]:
    return Message(queue_name=queue, actor_name=actor, args=tuple(args), kwargs=kwargs or {})
