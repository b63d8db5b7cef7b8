"""``kill -9`` of the master while a worker process runs a long message (issue 26).

The orphan finishes its message and exits by itself; a master started at once serves
``/healthz`` and ``/metrics`` while the orphan still works, because the listening socket
belongs to the master alone (the orphan never inherited it); every request is answered or
refused within a second; every series is exported at zero from the start.
"""

from __future__ import annotations

import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_for

from .conftest import make_setup, teardown
from .support import APP, WorkerCLI, describe, wait_exit

pytestmark = [pytest.mark.faults, pytest.mark.slow]

#: How long the message the orphan finishes runs (s): the issue's repro uses 20 s.
LONG_SECONDS = 8.0


def probe(url: str) -> tuple[str, float, bytes]:
    """GET ``url`` with a 1 s budget: ("answered", s, body), ("refused", s, b"") or
    ("hung", s, b"")."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return "answered", time.monotonic() - started, response.read()
    except urllib.error.HTTPError as e:
        return "answered", time.monotonic() - started, e.read()
    except TimeoutError:
        return "hung", time.monotonic() - started, b""
    except (ConnectionError, urllib.error.URLError) as e:
        if isinstance(getattr(e, "reason", None), TimeoutError | socket.timeout):
            return "hung", time.monotonic() - started, b""
        return "refused", time.monotonic() - started, b""


def listens_on(pid: int, port: int) -> bool:
    """True if process ``pid`` holds a listening socket on ``port``."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


@pytest.mark.parametrize("kind", ["sqlite", "redis", "rabbitmq"])
def test_kill_9_of_the_master_orphan_finishes_new_master_healthy(kind: str, tmp_path: Path) -> None:
    setup = make_setup(kind, tmp_path)
    port = int(setup.env["taskq_prom_port"])
    base = f"http://127.0.0.1:{port}"
    args = (APP, "-p", "1", "-t", "1", "--shutdown-timeout", "30000")
    log = tmp_path / "worker.log"
    first = WorkerCLI(setup.worker_env(), log, *args)
    second: WorkerCLI | None = None
    try:
        (child,) = first.wait_children(1)
        wait_for(lambda: probe(base + "/healthz")[0] == "answered", 30, message="1st /healthz")
        assert not listens_on(child, port), "a worker process inherited the metrics listener"
        setup.actors["fault_slow"].send("long", LONG_SECONDS)
        taken = lambda: setup.broker.queue_stats()[setup.queue_name]["ready"] == 0  # noqa: E731
        wait_for(taken, 30, message="the long message to start")
        first.signal(signal.SIGKILL)
        first.wait(10)
        assert psutil.pid_exists(child), "the orphan should still be finishing its message"

        restarted = time.monotonic()
        second = WorkerCLI(setup.worker_env(), log, *args)
        outcomes = []

        def healthy() -> bool:
            outcome = probe(base + "/healthz")
            outcomes.append(outcome)
            return outcome[0] == "answered"

        wait_for(healthy, 30, interval=0.05, message="the new master's /healthz")
        recovered_in = time.monotonic() - restarted
        orphan_alive_then = psutil.pid_exists(child) and child not in second.children()
        assert all(kind != "hung" and took < 1.5 for kind, took, _ in outcomes), outcomes
        # The new worker process writes its zero series at boot, one after the other: wait
        # until a scrape shows them all (a scrape in between may show only some).
        zero_lines = [
            f'{name}{{actor_name="fault_record",queue_name="{setup.queue_name}"}} 0.0'.encode()
            for name in ("taskq_messages_total", "taskq_message_errors_total")
        ]
        last: list[bytes] = [b""]

        def every_zero_series() -> bool:
            last[0] = probe(base + "/metrics")[2]
            return all(line in last[0] for line in zero_lines)

        try:
            wait_for(every_zero_series, 30, interval=0.05, message="every series at zero")
        except AssertionError as e:
            raise AssertionError(last[0].decode()) from e

        wait_exit(child, timeout=LONG_SECONDS + 30)
        wait_for(lambda: setup.counts.processed() == 1, 30, message="the long message to run")
        counts = setup.counts.all()
        status, _, _ = probe(base + "/healthz")
        assert status == "answered"
        second.signal(signal.SIGTERM)
        assert second.wait(60) == 0, second.output()[-3000:]
        print(
            f"\n[faults] kill -9 master {kind}: "
            + describe(
                {
                    "sent": 1,
                    "run": sum(counts.values()),
                    "lost": 1 - len(counts),
                    "duplicated": sum(n - 1 for n in counts.values()),
                    "healthz_after_restart_s": round(recovered_in, 2),
                    "orphan_alive_then": orphan_alive_then,
                    "probes": len(outcomes),
                }
            )
        )
        assert counts == {"long": 1}
    finally:
        first.kill_all()
        if second is not None:
            second.kill_all()
        teardown(setup)
