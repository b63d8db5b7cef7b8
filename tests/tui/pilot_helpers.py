"""Async polling for Pilot tests: wait without blocking the app's event loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.pilot import Pilot

T = TypeVar("T")

JOBS_MODULE = """
import time
import taskq


@taskq.actor(queue_name="{queue}")
def echo(value):
    return value


@taskq.actor(queue_name="{queue}", max_retries=0)
def boom(value):
    raise ValueError(f"boom {{value}}")


@taskq.actor(queue_name="{queue}", max_retries=0)
def nap(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
"""


async def wait_until(
    pilot: Pilot[Any], predicate: Callable[[], T], timeout: float = 20.0, message: str = "it"
) -> T:
    """Let the app run until ``predicate()`` is truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await pilot.pause(0.05)


def table_column(app: Any, selector: str, column: int) -> list[str]:
    """The plain text of one column of a DataTable (or the messages' VirtualTable), top to
    bottom."""
    table = app.query_one(selector)
    if hasattr(table, "row_texts"):
        return [table.row_texts(i)[column] for i in range(table.row_count)]
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]
