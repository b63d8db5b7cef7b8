"""The HTTP side of :mod:`taskq.metrics.exposition`: ``/metrics`` and ``/healthz`` served from a thread of
the ``taskq worker`` master.

The listening socket belongs to the master alone: a forked child closes its inherited copy at
once (an orphaned worker process must never keep the port from the next master), a taken port
is tried again in the background, and a silent client is dropped after a second.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .exposition import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    _import_prometheus_client,
    child_exited,
    collect_metrics,
    health_report,
)

logger = logging.getLogger("taskq.exposition")

#: While the port is taken, the master tries to listen again this often (seconds).
RETRY_INTERVAL = 1.0
#: A client that sends nothing (or reads nothing) for this long is dropped (seconds).
REQUEST_TIMEOUT = 1.0
#: Servers listening in this process: a forked child closes their sockets (see below).
_listening: weakref.WeakSet[ExpositionServer] = weakref.WeakSet()


def _close_listeners_in_child() -> None:
    """After a fork, in the child: close every inherited listening socket at once.

    The listener belongs to the master alone. A worker process (above all an orphan that
    finishes its messages after the master died) that kept it would hold the port: the next
    master could not listen, and connections would queue on a socket nobody serves.
    """
    for server in list(_listening):
        server._forget_in_child()


class ExpositionServer:
    """Serve ``GET /metrics`` and ``GET /healthz`` from a thread of the master process.

    ``host``/``port`` default to ``taskq_prom_host`` (127.0.0.1) and ``taskq_prom_port``
    (9191); port 0 picks a free port (see :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        *,
        directory: str | None = None,
    ) -> None:
        env_host = os.environ.get("taskq_prom_host")  # noqa: SIM112 - the documented name
        env_port = os.environ.get("taskq_prom_port")  # noqa: SIM112
        self.host = host or env_host or DEFAULT_HOST
        self.port = int(port if port is not None else env_port or DEFAULT_PORT)
        self.health = health or (lambda: {})
        self.directory = directory
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._retry: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def metrics_dir(self) -> str | None:
        """The directory scraped: the one given, else ``PROMETHEUS_MULTIPROC_DIR``."""
        return self.directory or os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    def start(self, *, retry: bool = False) -> bool:
        """Start serving; returns False (after one clear log line) if the port is taken.

        With ``retry``, a taken port is tried again every :data:`RETRY_INTERVAL` seconds in a
        background thread until it is free (or :meth:`stop` is called).
        """
        _import_prometheus_client()
        self._stopped.clear()
        try:
            self._listen()
        except OSError as e:
            logger.error(
                "Metrics server not started: cannot listen on %s:%d (%s)%s. Choose a free port "
                "with taskq worker --prom-port PORT or the taskq_prom_port environment variable "
                "(0: any free port).",
                self.host,
                self.port,
                e.strerror or e,
                "; trying again every second" if retry else "",
            )
            if retry:
                self._retry = threading.Thread(
                    target=self._retry_listen, name="taskq-exposition-retry", daemon=True
                )
                self._retry.start()
            return False
        return True

    def _listen(self) -> None:
        """Bind, listen and serve from a thread; raises OSError if the port is taken."""
        handler = type("Handler", (_Handler,), {"exposition": self})
        server = ThreadingHTTPServer((self.host, self.port), handler)
        os.set_inheritable(server.socket.fileno(), False)  # never passed on by exec either
        server.daemon_threads = True
        self._server = server
        _listening.add(self)
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="taskq-exposition", daemon=True
        )
        self._thread.start()
        logger.info("Serving metrics on http://%s:%d/metrics", self.host, self.port)

    def _retry_listen(self) -> None:
        while not self._stopped.wait(RETRY_INTERVAL):
            try:
                self._listen()
            except OSError:
                continue
            return

    def _forget_in_child(self) -> None:
        """In a forked child: close the inherited listening socket, never serve."""
        server, self._server, self._thread, self._retry = self._server, None, None, None
        self._stopped.set()
        if server is not None:
            with contextlib.suppress(OSError):
                server.socket.close()

    @property
    def listening(self) -> bool:
        """True while the server holds its port (False while it waits for a taken one)."""
        return self._server is not None

    def stop(self) -> None:
        """Stop serving (and trying to) and release the port."""
        self._stopped.set()
        if self._retry is not None:
            self._retry.join(RETRY_INTERVAL + 5)
            self._retry = None
        _listening.discard(self)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def child_exited(self, pid: int) -> None:
        """See :func:`child_exited`."""
        child_exited(pid, self.metrics_dir)


class _Handler(BaseHTTPRequestHandler):
    exposition: ExpositionServer
    #: A silent or stalled client never pins a serving thread for long.
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            directory = self.exposition.metrics_dir
            if not directory or not os.path.isdir(directory):
                self._send(503, b"metrics directory missing\n", "text/plain")
                return
            body, content_type = collect_metrics(directory)
            self._send(200, body, content_type)
        elif path in ("/healthz", "/health"):
            status, report = health_report(self.exposition.metrics_dir, self.exposition.health)
            self._send(status, json.dumps(report).encode(), "application/json")
        else:
            self._send(404, b"not found: try /metrics or /healthz\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug(format, *args)


os.register_at_fork(after_in_child=_close_listeners_in_child)
