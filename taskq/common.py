"""Small helpers shared by brokers, middleware and the worker."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterable, Iterator
from queue import Empty
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .constants import DEFAULT_SQLITE_PATH
from .errors import QueueJoinTimeout

QUEUE_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9._-]*$")


def current_millis() -> int:
    """Return the current UNIX time in milliseconds."""
    return time.time_ns() // 1_000_000


def generate_unique_id() -> str:
    """Return a new random UUID4 string, as ``str(uuid.uuid4())`` but without building a
    :class:`uuid.UUID` (a message needs one or two, so it shows on the enqueue path)."""
    return _uuid4_text(bytearray(os.urandom(16)), 0)


def generate_unique_ids(count: int) -> list[str]:
    """Return ``count`` new random UUID4 strings, from one read of the system's randomness."""
    raw = bytearray(os.urandom(16 * count))
    return [_uuid4_text(raw, start) for start in range(0, 16 * count, 16)]


def _uuid4_text(raw: bytearray, start: int) -> str:
    """The UUID4 string of the 16 random bytes at ``raw[start:]`` (version bits set in place)."""
    raw[start + 6] = raw[start + 6] & 0x0F | 0x40  # version 4
    raw[start + 8] = raw[start + 8] & 0x3F | 0x80  # RFC 4122 variant
    digits = raw[start : start + 16].hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def dq_name(queue_name: str) -> str:
    """Name of the delay queue that belongs to ``queue_name``."""
    if queue_name.endswith(".DQ"):
        return queue_name
    if queue_name.endswith(".XQ"):
        queue_name = queue_name[:-3]
    return queue_name + ".DQ"


def xq_name(queue_name: str) -> str:
    """Name of the dead-letter queue that belongs to ``queue_name``."""
    if queue_name.endswith(".XQ"):
        return queue_name
    if queue_name.endswith(".DQ"):
        queue_name = queue_name[:-3]
    return queue_name + ".XQ"


def q_name(queue_name: str) -> str:
    """The canonical queue name, with any ``.DQ`` / ``.XQ`` suffix removed."""
    if queue_name.endswith((".DQ", ".XQ")):
        return queue_name[:-3]
    return queue_name


def validate_queue_name(queue_name: str) -> str:
    """Return ``queue_name`` or raise ``ValueError`` saying what a valid name looks like."""
    if not isinstance(queue_name, str) or not QUEUE_NAME_RE.match(queue_name):
        raise ValueError(
            f"Queue name {queue_name!r} is invalid: use letters, digits, '_', '-' and '.', "
            "starting with a letter or '_'."
        )
    if queue_name.endswith((".DQ", ".XQ")):
        raise ValueError(f"Queue name {queue_name!r} must not end in .DQ or .XQ (reserved).")
    return queue_name


def compute_backoff(
    attempts: int,
    *,
    factor: int = 5,
    jitter: bool = True,
    max_backoff: int = 2000,
    max_exponent: int = 32,
) -> tuple[int, int]:
    """Exponential backoff with jitter: ``(attempts + 1, backoff_ms)``."""
    exponent = min(attempts, max_exponent)
    backoff = min(factor * 2**exponent, max_backoff)
    if jitter:
        backoff = int(backoff / 2 + random.uniform(0, backoff / 2))
    return attempts + 1, int(backoff)


def mask_url(url: str | None) -> str:
    """Return ``url`` with any password replaced by ``***``; safe to log or display."""
    if not url:
        return str(url)
    parts = []
    for one in url.split(";"):
        try:
            split = urlsplit(one.strip())
        except ValueError:
            parts.append(one)
            continue
        if split.password is None:
            parts.append(one.strip())
            continue
        netloc = split.netloc
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        parts.append(urlunsplit(split._replace(netloc=f"{user}:***@{hostinfo}")))
    return ";".join(parts)


# -- Dramatiq's queue helpers (``dramatiq.common``), for code that imports them ---------------
def getenv_int(name: str) -> int | None:
    """The environment variable ``name`` as an int, None when unset; ValueError naming the
    variable when it is not an integer."""
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"invalid integer value for env var {name!r}: {value!r}") from None


def iter_queue(queue: Any) -> Iterator[Any]:
    """Take items off a :class:`queue.Queue` until it is empty, without blocking."""
    while True:
        try:
            yield queue.get_nowait()
        except Empty:
            return


def join_queue(queue: Any, timeout: float | None = None) -> None:
    """``queue.join()`` with an optional ``timeout`` in seconds; raises
    :class:`~taskq.errors.QueueJoinTimeout` when it runs out."""
    if timeout is None:
        queue.join()
        return
    deadline = time.monotonic() + timeout
    with queue.all_tasks_done:
        while queue.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueueJoinTimeout(f"timed out after {timeout:.02f} seconds")
            queue.all_tasks_done.wait(remaining)


def join_all(joinables: Iterable[Any], timeout: int) -> None:
    """Join each object (a thread, say) within ``timeout`` milliseconds in total."""
    deadline = time.monotonic() + timeout / 1000
    for joinable in joinables:
        joinable.join(timeout=max(0.0, deadline - time.monotonic()))


def pop_query_parameter(url: str, name: str) -> tuple[str, str | None]:
    """``redis://h/0?namespace=app`` → (``redis://h/0``, ``"app"``)."""
    split = urlsplit(url)
    pairs = parse_qsl(split.query, keep_blank_values=True)
    values = [value for key, value in pairs if key == name]
    if not values:
        return url, None
    rest = urlencode([(key, value) for key, value in pairs if key != name])
    return urlunsplit(split._replace(query=rest)), values[-1]


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/path.db`` → ``rel/path.db``; ``sqlite:////abs/path.db`` → ``/abs/path.db``."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/"):
        raise ValueError(f"SQLite URL {url!r} must look like sqlite:///path/to/file.db")
    return rest[1:] or DEFAULT_SQLITE_PATH
