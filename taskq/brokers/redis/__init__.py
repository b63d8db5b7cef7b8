"""The Redis broker (``RedisBroker``), compatible with Dramatiq's keys and wire format.

File roles: ``broker`` (the broker class), ``consumer``, ``link`` (what a consumer uses of
its broker), ``admin`` (inspection, dead letters, queue stats), ``events`` (the lifecycle
event channel), ``maintenance`` (heartbeats, recovery of dead workers), ``scripts`` (loads
the Lua scripts in ``lua/``).
"""

from .broker import (
    DEFAULT_DEAD_MESSAGE_TTL,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_MAINTENANCE_CHANCE,
    MAINTENANCE_SCALE,
    RedisBroker,
)

__all__ = [
    "DEFAULT_DEAD_MESSAGE_TTL",
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_MAINTENANCE_CHANCE",
    "MAINTENANCE_SCALE",
    "RedisBroker",
]
