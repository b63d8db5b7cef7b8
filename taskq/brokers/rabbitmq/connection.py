"""Connection targets for the RabbitMQ broker: URL and parameter parsing, failover, retries.

A broker may name several targets (a cluster, or a primary and a standby). Every new connection
starts at the target that last worked and moves on to the next one when it is unreachable, so a
lost node is skipped until the others are down too.
"""

from __future__ import annotations

import logging
import threading
import time
import types
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import pika
import pika.exceptions

from ...common import compute_backoff, mask_url
from ...errors import ConnectionClosed, ConnectionFailed
from .publish import PIKA_INTERNALS

logger = logging.getLogger("taskq.brokers.rabbitmq")

T = TypeVar("T")

#: Errors after which a fresh connection (possibly to another target) may succeed.
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    OSError,
    AssertionError,  # pika asserts on some states of a connection that broke mid-call
)

#: Errors that a retry cannot fix: wrong credentials or a missing/forbidden vhost.
FATAL_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AuthenticationError,
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
)


class Targets:
    """The RabbitMQ servers a broker may connect to, in failover order.

    Built from Dramatiq's arguments: ``url`` (one URL, several joined by ``;``, or a list),
    ``parameters`` (a list of dicts of pika connection parameters) or pika keyword arguments.
    """

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        parameters: Sequence[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        if url is not None:
            if parameters is not None or kwargs:
                raise RuntimeError(
                    "RabbitmqBroker takes either url= or pika connection parameters, not both"
                )
            urls = [u.strip() for u in url.split(";")] if isinstance(url, str) else list(url)
            urls = [u for u in urls if u]
            if not urls:
                raise ValueError("RabbitmqBroker got an empty url=")
            self.parameters = [_url_parameters(u) for u in urls]
            self.labels = [mask_url(u) for u in urls]
        elif parameters is not None:
            if kwargs:
                raise RuntimeError(
                    "RabbitmqBroker takes either parameters= or pika keyword arguments, not both"
                )
            if not parameters:
                raise ValueError("RabbitmqBroker got an empty parameters= list")
            self.parameters = [pika.ConnectionParameters(**p) for p in parameters]
            self.labels = [_describe(p) for p in self.parameters]
        else:
            single = pika.ConnectionParameters(**kwargs)
            self.parameters = [single]
            self.labels = [_describe(single)]
        self._current = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        """The targets as a password-free string, for logs and error messages."""
        return ";".join(self.labels)

    def connect(self) -> tuple[pika.BlockingConnection, int]:
        """Open a connection to the first reachable target, starting at the current one.

        Returns the connection and the index of its target; raises the last pika error when
        no target answers.
        """
        with self._lock:
            start = self._current
        count = len(self.parameters)
        last_error: BaseException | None = None
        for offset in range(count):
            index = (start + offset) % count
            try:
                connection = pika.BlockingConnection(self.parameters[index])
            except FATAL_ERRORS as e:
                raise ConnectionFailed(
                    f"RabbitMQ at {self.labels[index]} refused the login or the vhost: {e!r}. "
                    "Check the user, the password and that the vhost exists with permissions."
                ) from None
            except RETRYABLE_ERRORS as e:
                logger.debug("RabbitMQ at %s is unreachable: %r", self.labels[index], e)
                last_error = e
                continue
            send_frames_together(connection)
            if index != start:
                logger.warning(
                    "Failed over from RabbitMQ at %s to %s.", self.labels[start], self.labels[index]
                )
                with self._lock:
                    self._current = index
            return connection, index
        assert last_error is not None
        raise last_error

    def lost(self, index: int) -> None:
        """Note that the connection to target ``index`` broke: try the next target first."""
        with self._lock:
            if self._current == index and len(self.parameters) > 1:
                self._current = (index + 1) % len(self.parameters)


def retry_for(
    action: Callable[[], T],
    *,
    timeout_ms: int,
    what: str,
    targets: Targets,
    on_error: Callable[[BaseException], None],
) -> T:
    """Run ``action`` until it succeeds, backing off between attempts, for at most
    ``timeout_ms``; then raise :class:`ConnectionClosed` naming the (masked) targets."""
    deadline = time.monotonic() + timeout_ms / 1000
    attempts = 0
    while True:
        try:
            return action()
        except ConnectionFailed:
            raise
        except RETRYABLE_ERRORS as e:
            on_error(e)
            attempts, backoff_ms = compute_backoff(attempts, factor=50, max_backoff=2000)
            if time.monotonic() + backoff_ms / 1000 > deadline:
                raise ConnectionClosed(
                    f"Could not {what} on RabbitMQ at {targets.describe()} "
                    f"within {timeout_ms} ms ({attempts} attempts); last error: {e!r}"
                ) from None
            logger.debug("Retrying %s in %d ms after %r.", what, backoff_ms, e)
            time.sleep(backoff_ms / 1000)


def send_frames_together(connection: pika.BlockingConnection) -> None:
    """Make ``connection`` write the frames of one AMQP command (a publish is a method, a
    header and a body frame) to its socket in a single write instead of one write per frame.

    Fewer system calls per publish, and RabbitMQ receives a message in one piece. Relies on
    pika's connection internals; with a pika that lacks them, the connection is left as is.
    """
    impl: Any = getattr(connection, "_impl", None)
    if not (
        PIKA_INTERNALS
        and hasattr(impl, "_output_marshaled_frames")
        and hasattr(impl, "_adapter_emit_data")
        and hasattr(impl, "bytes_sent")
        and hasattr(impl, "frames_sent")
    ):
        return
    impl._output_marshaled_frames = types.MethodType(_output_frames_joined, impl)


def _output_frames_joined(impl: Any, marshaled_frames: Sequence[bytes]) -> None:
    if not marshaled_frames:
        return
    data = marshaled_frames[0] if len(marshaled_frames) == 1 else b"".join(marshaled_frames)
    impl.bytes_sent += len(data)
    impl.frames_sent += len(marshaled_frames)
    impl._adapter_emit_data(data)


def is_channel_error(error: BaseException, reply_code: int) -> bool:
    """True when ``error`` is the broker closing a channel with ``reply_code`` (404, 406...)."""
    return isinstance(error, pika.exceptions.ChannelClosedByBroker) and (
        error.reply_code == reply_code
    )


def close_quietly(thing: Any) -> None:
    """Close a pika channel or connection, ignoring errors from one that already broke."""
    try:
        if thing is not None and thing.is_open:
            thing.close()
    except Exception:
        logger.debug("Ignoring an error while closing %r.", thing, exc_info=True)


#: pika's loggers that report connections broken under them (a producer connection idle past
#: its heartbeat is often closed by the server before the broker is).
_PIKA_CONNECTION_LOGGERS = ("pika.adapters.base_connection", "pika.adapters.blocking_connection")


class _IgnoreScaryLogs(logging.Filter):  # Dramatiq's name, which its programs import
    """Drops pika's reports of a connection whose socket already broke ("Broken pipe"), logged
    when the broker closes connections the server had dropped (as Dramatiq's filter does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Broken pipe" not in record.getMessage()


def ignore_scary_pika_logs() -> None:
    """Give pika's connection loggers an :class:`_IgnoreScaryLogs` filter, once."""
    for name in _PIKA_CONNECTION_LOGGERS:
        pika_logger = logging.getLogger(name)
        if not any(isinstance(f, _IgnoreScaryLogs) for f in pika_logger.filters):
            pika_logger.addFilter(_IgnoreScaryLogs())


class ProducerState(threading.local):
    """The calling thread's producer connection and channels."""

    def __init__(self) -> None:
        self.connection: pika.BlockingConnection | None = None
        self.target = 0
        self.channel: Any = None
        self.batch_channel: Any = None
        self.declared: set[str] = set()
        self.last_used = 0.0
        #: When pika last polled the connection (read what the server sent).
        self.last_polled = 0.0


def _url_parameters(url: str) -> pika.URLParameters:
    try:
        return pika.URLParameters(url)
    except Exception as e:
        raise ValueError(f"Invalid RabbitMQ URL {mask_url(url)!r}: {e}") from None


def _describe(parameters: pika.connection.Parameters) -> str:
    scheme = "amqps" if parameters.ssl_options else "amqp"
    user = getattr(parameters.credentials, "username", "")
    vhost = quote(parameters.virtual_host, safe="")
    return f"{scheme}://{user}@{parameters.host}:{parameters.port}/{vhost}"
