"""Demo actors for ``taskq tui --demo``: some fast, some failing, some slow, some delayed.

Run them yourself with ``taskq worker taskq_tui.demo_actors``.
"""

from __future__ import annotations

import random
import time

import taskq
from taskq.middleware.abort import Abortable

# The demo shows abort too: its workers (and the TUI, which imports this module) need Abortable.
taskq.get_broker().ensure_middleware(Abortable, lambda: Abortable(interval=200))


@taskq.actor(queue_name="demo")
def add(x: int, y: int) -> int:
    """Fast: adds two numbers."""
    return x + y


@taskq.actor(queue_name="demo")
def greet(name: str) -> str:
    """Fast: builds a greeting."""
    return f"Hello, {name}!"


@taskq.actor(queue_name="demo", max_retries=1, min_backoff=100, max_backoff=500)
def flaky(chance: float = 0.5) -> str:
    """Fails about ``chance`` of the time; after one retry it is dead-lettered."""
    if random.random() < chance:
        raise RuntimeError(f"flaky failed (chance {chance:.0%})")
    return "ok"


@taskq.actor(queue_name="demo-slow", time_limit=10_000)
def resize_image(path: str, seconds: float = 2.0) -> str:
    """Slow: pretends to resize an image for a few seconds."""
    time.sleep(seconds)
    return f"{path} resized"


@taskq.actor(queue_name="demo-slow")
def send_report(recipient: str) -> str:
    """Usually sent with a delay: 'emails' a report."""
    time.sleep(0.2)
    return f"report sent to {recipient}"
