"""One metrics and health endpoint for a whole ``taskq worker`` group (master + children).

The master calls :func:`setup_multiprocess_dir` before forking, runs an
:class:`ExpositionServer` thread serving ``/metrics`` (the sum over every child's
prometheus-client files) and ``/healthz``, and calls :func:`child_exited` for each child it
reaps: the dead child's live gauges vanish, and its counters and histograms are folded into
one ``*_merged.db`` file per kind so totals survive while scrapes stay as fast as on day one.

Children report broker reachability and queue lag by writing ``taskq_status_<pid>.json`` in
the same directory (:class:`StatusReporter`, started by the Prometheus middleware).
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from .common import current_millis

if TYPE_CHECKING:
    from .broker import Broker

logger = logging.getLogger("taskq.exposition")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9191
#: How often (ms) each child rewrites its status file, and when (ms) a status counts as stale.
STATUS_INTERVAL = 5_000
STATUS_STALE_AFTER = 30_000
_DEFAULT_DIR_PREFIX = "taskq-prometheus-"
_STATUS_PREFIX = "taskq_status_"
#: Scrapes and merges of dead children's files never overlap (both happen in the master).
_files_lock = threading.Lock()
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def setup_multiprocess_dir() -> str | None:
    """Prepare the metrics directory and export ``PROMETHEUS_MULTIPROC_DIR`` for children.

    The directory is ``taskq_prom_db`` or ``PROMETHEUS_MULTIPROC_DIR`` when set (point both at
    the same folder when the application exports metrics of its own), else a fresh
    per-master folder in the temp dir. Its metric files are removed first. Call this before
    forking workers. Returns None when prometheus-client is not installed.
    """
    if find_spec("prometheus_client") is None:
        return None
    explicit = (
        os.environ.get("taskq_prom_db")  # noqa: SIM112 - the documented name
        or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or os.environ.get("prometheus_multiproc_dir")  # noqa: SIM112
    )
    if explicit:
        path = os.path.abspath(explicit)
        os.makedirs(path, exist_ok=True)
        for name in glob.glob(os.path.join(path, "*.db")) + _status_files(path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)
    else:
        base = tempfile.gettempdir()
        for stale in glob.glob(os.path.join(base, _DEFAULT_DIR_PREFIX + "*")):
            pid = stale.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        path = os.path.join(base, f"{_DEFAULT_DIR_PREFIX}{os.getpid()}")
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.environ["taskq_prom_db"] = path  # noqa: SIM112
    os.environ["TASKQ_METRICS_MASTER_PID"] = str(os.getpid())
    _import_prometheus_client()
    from .middleware.prometheus import _enable_multiprocess_values

    _enable_multiprocess_values()
    return path


def _import_prometheus_client() -> None:
    """Import what the server thread uses now, in the main thread: a fork while another
    thread holds a module's import lock would leave the child stuck on that lock."""
    if find_spec("prometheus_client") is None:
        return
    import prometheus_client.mmap_dict
    import prometheus_client.multiprocess
    import prometheus_client.values  # noqa: F401


def teardown_multiprocess_dir(path: str | None) -> None:
    """Remove ``path`` if :func:`setup_multiprocess_dir` created it as a per-master temp dir."""
    if path and os.path.basename(path) == f"{_DEFAULT_DIR_PREFIX}{os.getpid()}":
        shutil.rmtree(path, ignore_errors=True)


# -- dead children ------------------------------------------------------------------------
def child_exited(pid: int, directory: str | None = None) -> None:
    """Forget a reaped child: drop its live gauges and status, merge its other metric files.

    Counters, histograms and ``sum``/``min``/``max``/``mostrecent`` gauges are folded into
    ``<kind>_merged.db``; ``all``-mode gauges (labelled by pid) are left alone.
    """
    directory = directory or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not os.path.isdir(directory):
        return
    from prometheus_client import multiprocess

    with _files_lock:
        multiprocess.mark_process_dead(pid, directory)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(directory, f"{_STATUS_PREFIX}{pid}.json"))
        suffix = f"_{pid}.db"
        for path in glob.glob(os.path.join(directory, f"*{suffix}")):
            kind = os.path.basename(path)[: -len(suffix)]
            if kind.startswith(("gauge_all", "gauge_live")):
                continue
            _merge_into(path, os.path.join(directory, f"{kind}_merged.db"), kind)
            os.remove(path)


def _merge_into(source: str, target: str, kind: str) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    merged: dict[str, tuple[float, float]] = {}
    if os.path.exists(target):
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(target):
            merged[key] = (value, timestamp)
    for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(source):
        if key not in merged:
            merged[key] = (value, timestamp)
            continue
        old_value, old_timestamp = merged[key]
        if kind == "gauge_max":
            merged[key] = (max(old_value, value), 0.0)
        elif kind == "gauge_min":
            merged[key] = (min(old_value, value), 0.0)
        elif kind == "gauge_mostrecent":
            merged[key] = max((old_value, old_timestamp), (value, timestamp), key=lambda v: v[1])
        else:
            merged[key] = (old_value + value, 0.0)
    out = MmapedDict(target)
    try:
        for key, (value, timestamp) in merged.items():
            out.write_value(key, value, timestamp)
    finally:
        out.close()


def collect_metrics(directory: str) -> tuple[bytes, str]:
    """The Prometheus text exposition of every process's metrics in ``directory``."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    with _files_lock:
        return generate_latest(registry), CONTENT_TYPE_LATEST


# -- child status (broker reachability, queue lag) -----------------------------------------
def _status_files(directory: str) -> list[str]:
    return glob.glob(os.path.join(directory, f"{_STATUS_PREFIX}*.json"))


def write_status(directory: str, status: dict[str, Any]) -> None:
    """Atomically write this process's status file."""
    path = os.path.join(directory, f"{_STATUS_PREFIX}{os.getpid()}.json")
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(status, f)
    os.replace(temporary, path)


def read_statuses(directory: str) -> list[dict[str, Any]]:
    """Every child's last status, freshest first."""
    statuses = []
    for path in _status_files(directory):
        try:
            with open(path, encoding="utf-8") as f:
                statuses.append(json.load(f))
        except (OSError, ValueError):
            continue
    return sorted(statuses, key=lambda s: s.get("time", 0), reverse=True)


class StatusReporter(threading.Thread):
    """In a worker process: every ``interval`` ms, record whether the broker answers and how
    many messages wait on each queue."""

    def __init__(self, broker: Broker, directory: str, interval: int = STATUS_INTERVAL) -> None:
        super().__init__(name="taskq-status-reporter", daemon=True)
        self.broker = broker
        self.directory = directory
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            self.report()
            self._stopped.wait(self.interval / 1000)

    def report(self) -> None:
        """Write one status now."""
        status: dict[str, Any] = {"pid": os.getpid(), "broker_ok": True, "error": None}
        try:
            status["queues"] = self.broker.queue_stats()
        except Exception as e:
            status.update(broker_ok=False, error=f"{type(e).__name__}: {e}", queues={})
        status["time"] = current_millis()
        try:
            write_status(self.directory, status)
        except OSError:
            logger.debug("Could not write the worker status file.", exc_info=True)

    def stop(self) -> None:
        """Stop reporting (the master removes the file when it reaps this process)."""
        self._stopped.set()


def health_report(
    directory: str | None, health: Callable[[], dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """``(http_status, body)`` for ``/healthz``: 200 when all is well, 503 naming each problem.

    ``health()`` (from the supervisor) returns ``workers_alive`` and ``workers_expected``
    (or ``alive_children``/``expected_children``), optionally ``pids`` (or ``children``: live
    child pids) and ``problems`` (strings).
    """
    problems: list[str] = []
    try:
        workers = dict(health())
    except Exception as e:
        workers = {}
        problems.append(f"health check failed: {type(e).__name__}: {e}")
    problems.extend(workers.pop("problems", []) or [])
    alive = workers.get("workers_alive", workers.get("alive_children"))
    expected = workers.get("workers_expected", workers.get("expected_children"))
    if alive is not None and expected is not None and alive < expected:
        problems.append(f"workers: {alive} of {expected} alive")
    broker: dict[str, Any] = {"reachable": None}
    queues: dict[str, dict[str, int]] = {}
    live_pids = set(workers.get("pids") or workers.get("children") or [])
    statuses = read_statuses(directory) if directory else []
    statuses = [s for s in statuses if not live_pids or s.get("pid") in live_pids]
    if statuses:
        latest = statuses[0]
        age = current_millis() - int(latest.get("time", 0))
        now = current_millis()
        broker = {
            "reachable": bool(latest.get("broker_ok")),
            "error": latest.get("error"),
            "reported_by": latest.get("pid"),
            "age_ms": age,
            "reporting_workers": sorted(
                s["pid"] for s in statuses if now - int(s.get("time", 0)) <= STATUS_STALE_AFTER
            ),
        }
        if age > STATUS_STALE_AFTER:
            problems.append(f"broker: no worker has reported its status for {age // 1000} s")
        elif not latest.get("broker_ok"):
            problems.append(f"broker unreachable: {latest.get('error')}")
        for name, stats in (latest.get("queues") or {}).items():
            queues[name] = {"lag": int(stats.get("ready", 0)), **stats}
    body = {
        "status": "failing" if problems else "ok",
        "problems": problems,
        "workers": workers,
        "broker": broker,
        "queues": queues,
    }
    return (503 if problems else 200), body


# -- the HTTP server ------------------------------------------------------------------------
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
