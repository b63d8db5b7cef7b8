"""Actors used by the example notebooks.

They live in a module (not in a notebook cell) so that the worker started with
``taskq.notebook.run_worker("nb_actors")`` can import them. The broker comes from
``TASKQ_BROKER_URL`` (default: the embedded SQLite file ``.taskq/taskq.db``).
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Literal

import taskq
from taskq.middleware.current_message import get_current_message
from taskq.notebook import setup_broker

broker = setup_broker()


class Shape(Enum):
    """Shapes the ``area`` actor knows."""

    SQUARE = "square"
    CIRCLE = "circle"


@taskq.actor(store_results=True)
def add(x: int, y: int = 0) -> int:
    """Add two numbers."""
    return x + y


@taskq.actor(store_results=True)
def square(x: int) -> int:
    """Square a number."""
    return x * x


@taskq.actor(store_results=True)
def slow_square(x: int, seconds: float = 0.2) -> int:
    """Square a number, slowly (to watch progress)."""
    time.sleep(seconds)
    return x * x


@taskq.actor(store_results=True)
def area(
    size: float, shape: Shape = Shape.SQUARE, unit: Literal["cm", "m"] = "cm", rounded: bool = True
) -> str:
    """The area of a shape, as text: exercises every kind of form field."""
    value = size * size if Shape(shape) is Shape.SQUARE else 3.14159 * size * size
    return f"{round(value) if rounded else value} {unit}²"


@taskq.actor(store_results=True)
def double(x: int) -> int:
    """Double a number (a pipeline step)."""
    return 2 * x


@taskq.actor(store_results=True)
def describe(x: int) -> str:
    """Describe a number (the last pipeline step)."""
    return f"the answer is {x}"


@taskq.actor(store_results=True, max_retries=5, min_backoff=10, max_backoff=50)
def flaky(failures: int) -> str:
    """Fail ``failures`` times, then succeed: shows retries."""
    message = get_current_message()
    retries = message.options.get("retries", 0) if message else 0
    if retries < failures:
        raise RuntimeError(f"attempt {retries + 1} failed on purpose")
    return f"ok after {retries} retries"


@taskq.actor(store_results=True, max_retries=2, min_backoff=10, max_backoff=50)
def always_fails(x: int) -> int:
    """Always raises: ends as failed after 2 retries."""
    raise ValueError(f"cannot handle {x}")
