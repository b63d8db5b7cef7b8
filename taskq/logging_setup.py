"""Logging for ``taskq worker``: one line per record, as text or as one JSON object per line.

Every line names the process and thread that wrote it, so the interleaved output of a master
and its worker processes can be told apart (and filtered by log shippers in JSON mode).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s [%(levelname)s] [PID %(process)d] [%(threadName)s] %(name)s: %(message)s"

#: Attributes every LogRecord has; anything else on a record came from ``extra=`` and is
#: emitted as a field of its own in JSON mode.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JSONFormatter(logging.Formatter):
    """Formats each record as one JSON object: ``ts``, ``level``, ``logger``, ``pid``,
    ``thread``, ``message``, any ``extra=`` fields, and ``exc_info`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def configure_logging(
    *, verbose: int = 0, log_file: str | None = None, log_format: str = "text"
) -> logging.Handler:
    """Send taskq's (and the application's) logs to ``log_file`` or stderr.

    ``verbose`` 0 logs INFO and above, 1 or more logs DEBUG. Replaces handlers installed by a
    previous call, so a re-configured (spawned or forked) process never logs twice.
    """
    stream: TextIO = sys.stderr
    if log_file:
        stream = open(log_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives on
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_taskq_handler", False):
            root.removeHandler(old)
    handler._taskq_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 0 else logging.INFO)
    # Client libraries are chatty at DEBUG; keep them at INFO unless asked twice.
    if verbose < 2:
        for name in ("pika", "urllib3", "asyncio", "watchfiles"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def flush_logging() -> None:
    """Flush every handler of the root logger (before a forked child calls ``os._exit``)."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # a broken stream must not block exit
            handler.flush()
