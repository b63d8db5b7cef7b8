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
import fcntl
import glob
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from ..common import current_millis
from .families import FAMILIES, LABELS, enable_multiprocess_values

if TYPE_CHECKING:
    from ..broker import Broker

logger = logging.getLogger("taskq.exposition")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9191
#: How often (ms) each child rewrites its status file, and when (ms) a status counts as stale.
STATUS_INTERVAL = 5_000
STATUS_STALE_AFTER = 30_000
_DEFAULT_DIR_PREFIX = "taskq-prometheus-"
_STATUS_PREFIX = "taskq_status_"
#: The lock file that keeps scrapes out while a worker process creates its series.
_LOCK_NAME = "taskq_series.lock"
#: Scrapes and merges of dead children's files never overlap (both happen in the master).
_files_lock = threading.Lock()


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
    enable_multiprocess_values()
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


class _EveryFamily:
    """A collector: every process's metrics in a directory, plus each taskq family that no
    process has written a sample of yet (named, typed, with no series), so a scrape names
    every family from the start, as dashboards expect."""

    def __init__(self, directory: str) -> None:
        from prometheus_client.multiprocess import MultiProcessCollector

        self.collector = MultiProcessCollector(None, path=directory)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        seen = set()
        for family in self.collector.collect():
            seen.add(family.name)
            yield family
        kinds = {
            "counter": CounterMetricFamily,
            "gauge": GaugeMetricFamily,
            "histogram": HistogramMetricFamily,
        }
        for declared in FAMILIES:
            empty = kinds[declared.kind](declared.name, declared.documentation, labels=LABELS)
            if empty.name not in seen:
                yield empty


@contextlib.contextmanager
def series_lock(directory: str) -> Iterator[None]:
    """Hold the metrics directory's lock: scrapes wait while a process creates its series,
    so a scrape sees all of a worker process's series at zero or none of them."""
    fd = os.open(os.path.join(directory, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # A POSIX record lock, not flock(): it belongs to this process, so a worker process
        # forked while a scrape holds it does not inherit it (an inherited flock would stay held
        # by the child's copy of the descriptor, and every later scrape would wait forever).
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def collect_metrics(directory: str) -> tuple[bytes, str]:
    """The Prometheus text exposition of every process's metrics in ``directory``; every
    taskq family is named, with no series until a worker process declares them."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EveryFamily(directory))
    with _files_lock, series_lock(directory):
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


__all__ = [
    "StatusReporter",
    "child_exited",
    "collect_metrics",
    "health_report",
    "setup_multiprocess_dir",
    "teardown_multiprocess_dir",
]
