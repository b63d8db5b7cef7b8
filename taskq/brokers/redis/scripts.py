"""Loads the broker's Lua scripts (``lua/*.lua``), each prefixed by the shared
prelude, and registers them on a client so calls go through EVALSHA (SCRIPT LOAD on a miss).

A call takes a connection from the client's pool and sends EVALSHA on it directly
(:class:`LeanScript`): redis-py's ``execute_command`` wraps every command in retry closures,
argument checks and metrics recording, which cost more than the round trip to a local Redis
(a single ``send()`` and each fetch and ack pay it). Only the public connection API is used
(``get_connection``, ``send_command``, ``read_response``, ``release``, ``disconnect``). Any
connection or timeout error hands the call to redis-py's own path, with its retries, exactly
as before; pipelines, single-connection clients, RESP3 and redis-py < 5.3 always take it.
"""

from __future__ import annotations

import functools
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from typing import Any

import redis
from redis.commands.core import Script

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


def _lean_path_supported() -> bool:
    """redis-py >= 5.3 (``get_connection()`` without a command name)."""
    major, minor = (int(part) for part in version("redis").split(".")[:2])
    return (major, minor) >= (5, 3)


LEAN_PATH = _lean_path_supported()


class LeanScript:
    """A registered script, called as redis-py's ``Script`` is: ``script(args=[...])``, or
    ``script(args=[...], client=pipeline)``."""

    def __init__(self, client: Any, source: str) -> None:
        self.script: Script = client.register_script(source)
        self.client = client
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", {})
        self.pool = (
            pool
            if LEAN_PATH
            and pool is not None
            and getattr(client, "connection", None) is None  # not a single-connection client
            and kwargs.get("protocol") in (None, 2, "2")
            else None
        )
        # redis-py >= 5.3 wraps get_connection in a check for deprecated arguments that
        # inspects every call; called without arguments it has nothing to warn about.
        get_connection = getattr(pool, "get_connection", None)
        undecorated = getattr(get_connection, "__wrapped__", None)
        self._get_connection: Any = (
            functools.partial(undecorated, pool) if callable(undecorated) else get_connection
        )

    @property
    def sha(self) -> str:
        """The script's SHA1, as EVALSHA names it."""
        return str(self.script.sha)

    def __call__(self, args: list[Any] | tuple[Any, ...] = (), client: Any = None) -> Any:
        if client is not None or self.pool is None:
            return self.script(args=args, client=client)
        try:
            return self._evalsha(args)
        except redis.exceptions.NoScriptError:
            self.client.script_load(self.script.script)  # flushed or a new server
            return self._evalsha(args)
        except (redis.ConnectionError, redis.TimeoutError):
            return self.script(args=args)  # redis-py's path: its retries, its errors

    def _evalsha(self, args: list[Any] | tuple[Any, ...]) -> Any:
        pool = self.pool
        assert pool is not None
        connection = self._get_connection()
        healthy = False
        try:
            connection.send_command("EVALSHA", self.script.sha, 0, *args)
            try:
                reply = connection.read_response()
            except redis.ResponseError:
                healthy = True  # an error reply leaves the connection in step
                raise
            healthy = True
            return reply
        finally:
            if not healthy:  # a reply may still be on its way: never reuse this connection
                connection.disconnect()
            pool.release(connection)


def register_scripts(client: Any) -> dict[str, Any]:
    """``{name: LeanScript}`` for every broker script, bound to ``client``."""
    return {name: LeanScript(client, script_source(name)) for name in SCRIPT_NAMES}
