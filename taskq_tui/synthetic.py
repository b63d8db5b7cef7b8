"""Synthetic lifecycle events for load tests and benchmarks of the Messages tab."""

from __future__ import annotations

from typing import Any

ACTORS = ["send_email", "resize_image", "charge_card", "build_report", "sync_user"]


def synthetic_events(messages: int, start_ms: int = 1_767_225_600_000) -> list[dict[str, Any]]:
    """Events of ``messages`` finished messages: enqueued, started, then succeeded (or, for
    every 7th, failed with an error naming its order). Message ``i`` is ``order-{i}``."""
    events: list[dict[str, Any]] = []
    for i in range(messages):
        base = {
            "message_id": f"{i:08x}-0000-4000-8000-000000000000",
            "queue_name": "orders" if i % 3 else "emails",
            "actor_name": ACTORS[i % len(ACTORS)],
            "worker": f"host:{4000 + i % 8}",
        }
        at = start_ms + i * 10
        events.append(
            {**base, "event": "enqueued", "timestamp": at, "args": [f"order-{i}"], "kwargs": {}}
        )
        events.append({**base, "event": "started", "timestamp": at + 1})
        if i % 7 == 6:
            events.append(
                {
                    **base,
                    "event": "failed",
                    "timestamp": at + 5,
                    "duration_ms": 4,
                    "exception_type": "ValueError",
                    "exception": f"card declined for order-{i}",
                }
            )
        else:
            events.append({**base, "event": "succeeded", "timestamp": at + 3, "duration_ms": 2})
    return events
