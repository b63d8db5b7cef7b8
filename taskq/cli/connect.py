"""Reaching the broker from the inspection commands (``info``, ``events``, ``enqueue``): which
URL to use, a first contact that really touches the server, and one-line errors with the exit
codes of docs/cli.md (2: bad argument or bad file, 3: the broker cannot be reached)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..common import mask_url, sqlite_path
from ..constants import BROKER_URL_ENV, DEFAULT_BROKER_URL
from ..errors import BrokerError
from ..errors import ConnectionError as TaskqConnectionError
from ..supervisor.config import broker_error_exit_code
from ..urls import broker_from_url

if TYPE_CHECKING:
    from ..broker import Broker

EXIT_OK, EXIT_BAD_INPUT, EXIT_BROKER_DOWN = 0, 2, 3
#: How long (ms) a command keeps retrying a RabbitMQ connection before exiting with code 3.
CLI_RETRY_TIMEOUT = 5_000

_PASSWORD_IN_TEXT = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def add_broker_argument(parser: argparse.ArgumentParser) -> None:
    """``--broker URL`` (default: TASKQ_BROKER_URL, else the embedded SQLite broker)."""
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="broker URL, e.g. redis://127.0.0.1:6379/0?namespace=app, amqp://..., "
        f"sqlite:///path.db (default: ${BROKER_URL_ENV}, else {DEFAULT_BROKER_URL})",
    )


def broker_url(args: argparse.Namespace) -> str:
    """The broker URL the command should use."""

    return args.broker or os.environ.get(BROKER_URL_ENV) or DEFAULT_BROKER_URL


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the broker cannot be reached", for each installed client."""
    errors: list[type[BaseException]] = [TaskqConnectionError, OSError]
    if "sqlite3" in sys.modules:
        import sqlite3

        errors.append(sqlite3.OperationalError)
    if "redis" in sys.modules:
        import redis

        errors.append(redis.exceptions.ConnectionError)
        errors.append(redis.exceptions.TimeoutError)
    if "pika" in sys.modules:
        import pika.exceptions

        errors.append(pika.exceptions.AMQPConnectionError)
        errors.append(pika.exceptions.ChannelClosed)
    return tuple(errors)


def one_line(text: str) -> str:
    """``text`` on a single line, any password in a URL masked."""
    return _PASSWORD_IN_TEXT.sub(r"\1:***@", " ".join(text.split()))


def fail(code: int, text: str) -> int:
    """Print one line to stderr and return ``code``."""
    print(f"taskq: error: {one_line(text)}", file=sys.stderr)
    return code


def warn(text: str) -> None:
    """Print one warning line to stderr."""
    print(f"taskq: warning: {one_line(text)}", file=sys.stderr)


def probe(broker: Broker) -> None:
    """Touch the server behind ``broker`` so an unreachable one fails now, not halfway.

    Brokers that connect lazily (RabbitMQ) open their connection here; the others already
    talked to their server or file while being built or are checked by the command's first
    call."""
    ping = getattr(broker, "ping", None)
    if callable(ping):
        ping()
        return
    client = getattr(broker, "client", None)
    if callable(getattr(client, "ping", None)):  # Redis: connects (and logs in) lazily
        client.ping()  # type: ignore[union-attr]
        return
    if "taskq.brokers.rabbitmq" in sys.modules:
        from ..brokers.rabbitmq import RabbitmqBroker

        if isinstance(broker, RabbitmqBroker):
            broker.connection  # noqa: B018 - opening it is the point


#: What went wrong, in the same words on every broker: (words in the error, the kind).
_KINDS = (
    (
        ("authentication", "access_refused", "username-password", "wrongpass", "noauth",
         "authenticated"),
        "authentication failed",
    ),
    (("not_allowed", "accessdenied", "vhost"), "vhost missing or not allowed"),
    (("refused", "errno 111", "error 111"), "connection refused"),
    (("timed out", "timeout"), "timed out"),
    (("name or service not known", "nodename nor servname", "name resolution"), "unknown host"),
)  # fmt: skip


def error_kind(error: BaseException) -> str | None:
    """``connection refused``, ``authentication failed``, ``vhost missing or not allowed``,
    ``timed out`` or ``unknown host``: the same words for the same fault on every broker."""
    text = f"{error} {error!r} {type(error).__name__}".lower()
    for words, kind in _KINDS:
        if any(word in text for word in words):
            return kind
    return None


def describe_error(url: str, error: BaseException) -> str:
    """Why ``error`` stopped a command on the broker at ``url``, on one line:
    ``cannot reach the broker at URL: KIND (details)``, the password masked."""
    reason = str(error).strip() or repr(error)  # pika's errors keep their cause in repr
    if url.lower().startswith("sqlite:") and isinstance(error, BrokerError):
        return reason  # the SQLite broker's errors name the file and what to do
    kind = error_kind(error)
    detail = f"{kind} ({reason})" if kind else reason
    return f"cannot reach the broker at {mask_url(url)}: {detail}"


def missing_sqlite_file(url: str) -> str | None:
    """For a ``sqlite:`` URL whose database file does not exist: the reason, naming the file
    (opening it would create it, and an empty broker would be reported). Else None."""
    if not url.lower().startswith("sqlite:"):
        return None
    try:
        path = sqlite_path(url)
    except ValueError:
        return None  # a malformed URL: building the broker says what is wrong
    if os.path.exists(path):
        return None
    return f"no database file at {path} (a worker or producer creates it on first use)"


def with_broker(url: str, action: Callable[[Broker], int], *, must_exist: bool = False) -> int:
    """Build the broker for ``url``, check it answers, and run ``action(broker)``.

    Exits 2 on a bad URL or a file that is not (or no longer) a usable database, 3 when the
    broker cannot be reached or opened; either way with one line naming the (masked) URL or
    the file. With ``must_exist`` (the inspection commands), a SQLite database file that does
    not exist is a broker that cannot be reached: exit 3, and nothing is created."""

    if must_exist:
        missing = missing_sqlite_file(url)
        if missing is not None:
            return fail(EXIT_BROKER_DOWN, f"cannot reach the broker at {mask_url(url)}: {missing}")
    broker = None
    try:
        options = {"retry_timeout": CLI_RETRY_TIMEOUT} if url.startswith("amqp") else {}
        broker = broker_from_url(url, **options)
        probe(broker)
        return action(broker)
    except ValueError as e:
        if broker is None:
            return fail(EXIT_BAD_INPUT, str(e))
        raise
    except BrokerError as e:  # the SQLite file is not a database or cannot be opened, ...
        code = broker_error_exit_code(e) or EXIT_BAD_INPUT
        return fail(int(code), describe_error(url, e))
    except unreachable_errors() as e:
        return fail(EXIT_BROKER_DOWN, describe_error(url, e))
    except Exception as e:
        import sqlite3

        if isinstance(e, sqlite3.DatabaseError):
            return fail(EXIT_BAD_INPUT, f"the SQLite database at {mask_url(url)} is unusable: {e}")
        raise
    finally:
        if broker is not None:
            with contextlib.suppress(Exception):  # closing a dead connection is best effort
                broker.close()
