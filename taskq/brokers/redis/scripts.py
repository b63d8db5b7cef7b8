"""Loads the broker's Lua scripts (``lua/*.lua``), each prefixed by the shared
prelude, and registers them on a client so calls go through EVALSHA (SCRIPT LOAD on a miss).

A call takes a connection from the client's pool and sends EVALSHA on it directly
(:class:`LeanScript`): redis-py's ``execute_command`` wraps every command in retry closures,
argument checks and metrics recording, which cost more than the round trip to a local Redis
(a single ``send()`` and each fetch and ack pay it). Only the public connection API is used
(``get_connection``, ``send_command``, ``read_response``, ``release``, ``disconnect``). Any
connection or timeout error hands the call to redis-py's own path, with its retries, exactly
as before; pipelines, single-connection clients, RESP3 and redis-py < 5.3 always take it.

Between calls, the connections stay with the broker (:class:`ConnectionStash`) rather than
going back to the pool: taking one from redis-py's pool and returning it (its lock, its fork
check, its "no unread data" probe) cost a local ``send()`` more than packing and sending the
command. A connection the server closed meanwhile fails its next call, which then goes
through redis-py's path as any failure does.
"""

from __future__ import annotations

import functools
import os
from functools import cache
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
    # redis.__version__, not importlib.metadata.version(): that parses the package metadata
    # with the email package, 2 ms of every worker's start.
    major, minor = (int(part) for part in redis.__version__.split(".")[:2])
    return (major, minor) >= (5, 3)


LEAN_PATH = _lean_path_supported()


#: Pools smaller than this lend the stash nothing (redis-py's default pool holds 100).
STASH_MIN_POOL = 32
#: At most this many idle connections stay in a stash; more go back to the pool.
STASH_SIZE = 8


class ConnectionStash:
    """Connections taken from one pool and kept for the next script call of this process.

    ``list.pop`` and ``list.append`` are atomic, so threads share the stash without a lock; a
    forked child starts with an empty one (the parent's sockets are not its own).
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        # redis-py >= 5.3 wraps get_connection in a check for deprecated arguments that
        # inspects every call; called without arguments it has nothing to warn about.
        get_connection = pool.get_connection
        undecorated = getattr(get_connection, "__wrapped__", None)
        self._from_pool: Any = (
            functools.partial(undecorated, pool) if callable(undecorated) else get_connection
        )
        self._idle: list[Any] = []
        self._pid = os.getpid()

    def take(self) -> Any:
        """An idle connection of this process, else a new one from the pool."""
        if self._pid != os.getpid():
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._from_pool()

    def keep(self, connection: Any) -> None:
        """Keep ``connection``, in step with the server, for the next call."""
        if len(self._idle) < STASH_SIZE:
            self._idle.append(connection)
        else:
            self.pool.release(connection)

    def discard(self, connection: Any) -> None:
        """Close ``connection`` (a reply may still be on its way) and hand it back."""
        connection.disconnect()
        self.pool.release(connection)

    def close(self) -> None:
        """Hand every idle connection back to the pool."""
        while self._idle:
            self.pool.release(self._idle.pop())


def connection_stash(client: Any) -> ConnectionStash | None:
    """A stash for ``client``'s pool when the lean path can serve it, else None.

    A connection kept in the stash counts as in use, so a blocking pool, or one with fewer
    than :data:`STASH_MIN_POOL` connections, goes without.
    """
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {})
    if (
        not LEAN_PATH
        or not isinstance(pool, redis.ConnectionPool)
        or isinstance(pool, redis.BlockingConnectionPool)
        or getattr(pool, "max_connections", 0) < STASH_MIN_POOL
        or getattr(client, "connection", None) is not None  # a single-connection client
        or kwargs.get("protocol") not in (None, 2, "2")
    ):
        return None
    return ConnectionStash(pool)


class LeanScript:
    """A registered script, called as redis-py's ``Script`` is: ``script(args=[...])``, or
    ``script(args=[...], client=pipeline)``."""

    def __init__(self, client: Any, source: str, stash: ConnectionStash | None = None) -> None:
        self.script: Script = client.register_script(source)
        self.client = client
        self.stash = stash if stash is not None else connection_stash(client)

    @property
    def pool(self) -> Any:
        """The pool the lean path takes connections from (None: redis-py's path only)."""
        return None if self.stash is None else self.stash.pool

    @property
    def sha(self) -> str:
        """The script's SHA1, as EVALSHA names it."""
        return str(self.script.sha)

    def __call__(self, args: list[Any] | tuple[Any, ...] = (), client: Any = None) -> Any:
        if client is not None or self.stash is None:
            return self.script(args=args, client=client)
        try:
            return self._evalsha(args)
        except redis.exceptions.NoScriptError:
            self.client.script_load(self.script.script)  # flushed or a new server
            return self._evalsha(args)
        except (redis.ConnectionError, redis.TimeoutError):
            return self.script(args=args)  # redis-py's path: its retries, its errors

    def _evalsha(self, args: list[Any] | tuple[Any, ...]) -> Any:
        stash = self.stash
        assert stash is not None
        connection = stash.take()
        try:
            connection.send_command("EVALSHA", self.script.sha, 0, *args)
            reply = connection.read_response()
        except redis.ResponseError:
            stash.keep(connection)  # an error reply leaves the connection in step
            raise
        except BaseException:
            stash.discard(connection)
            raise
        stash.keep(connection)
        return reply


def register_scripts(client: Any, stash: ConnectionStash | None = None) -> dict[str, Any]:
    """``{name: LeanScript}`` for every broker script, bound to ``client``, sharing ``stash``
    (by default, one of their own)."""
    stash = stash if stash is not None else connection_stash(client)
    return {name: LeanScript(client, script_source(name), stash) for name in SCRIPT_NAMES}
