"""``/metrics`` of ``taskq worker`` names every metric family from its very first scrape."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

from ...helpers import wait_for
from .conftest import scrape

pytest.importorskip("prometheus_client")

# The application module waits (bounded) for a "go" file before declaring its actors, so the
# first scrapes happen while no worker process has written a single sample.
APP = """
import os
import time

import taskq

deadline = time.monotonic() + 60
while not os.path.exists(os.environ["GO_FILE"]) and time.monotonic() < deadline:
    time.sleep(0.01)

@taskq.actor(queue_name="families")
def first(i):
    return i

@taskq.actor(queue_name="families")
def second(i):
    return i
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_successful_scrape(url: str) -> list[str] | None:
    """``[body]`` of ``url`` if it answers 200 (the body may be empty), else None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return [response.read().decode()] if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError):
        return None


def test_first_scrape_names_every_family_and_a_booted_worker_shows_every_series(tmp_path):
    from taskq.metrics.families import FAMILIES

    (tmp_path / "families_app.py").write_text(textwrap.dedent(APP))
    go_file = tmp_path / "go"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "TASKQ_BROKER_URL": f"sqlite:///{tmp_path / 'broker.db'}",
        "taskq_prom_port": str(port),
        "taskq_prom_db": str(tmp_path / "prom"),
        "GO_FILE": str(go_file),
    }
    for name in ("PROMETHEUS_MULTIPROC_DIR", "TASKQ_METRICS_MASTER_PID", "TASKQ_EVENTS"):
        env.pop(name, None)
    with open(tmp_path / "worker.log", "wb") as log:
        master = subprocess.Popen(
            [sys.executable, "-m", "taskq", "worker", "families_app", "-p", "1", "-t", "1"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            [body] = wait_for(lambda: first_successful_scrape(url), 30, message="a scrape")
            for family in FAMILIES:
                assert f"# TYPE {family.name} {family.kind}\n" in body, (family.name, body)

            go_file.touch()  # let the worker process import the application and boot
            labels = [
                frozenset({("queue_name", "families"), ("actor_name", actor)})
                for actor in ("first", "second")
            ]
            wanted = [
                ("taskq_message_duration_milliseconds_count" if f.kind == "histogram" else f.name)
                for f in FAMILIES
            ]

            def every_series() -> dict | None:
                samples = scrape(url)
                present = [(name, label) in samples for name in wanted for label in labels]
                if not any(present):
                    return None  # the worker process has not created its series yet
                assert all(present), sorted(samples)  # never only some of them
                return samples

            samples = wait_for(every_series, 30, message="the worker's series")
            for name in wanted:
                for label in labels:
                    assert samples[(name, label)] == 0
        finally:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(30)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()


def test_a_worker_forked_while_a_scrape_holds_the_series_lock_can_take_it(tmp_path):
    """The master forks workers while scrape threads run: a child must not inherit the lock
    (else its own boot, and every later scrape, would wait forever)."""
    import threading

    from taskq.metrics.exposition import series_lock

    go_read, go_write = os.pipe()
    with series_lock(str(tmp_path)):
        pid = os.fork()
        if pid == 0:  # the child: once the parent let go, take the lock within 10 s
            try:
                os.read(go_read, 1)
                taken = threading.Event()

                def take() -> None:
                    with series_lock(str(tmp_path)):
                        taken.set()

                threading.Thread(target=take, daemon=True).start()
                os._exit(0 if taken.wait(10) else 1)
            except BaseException:
                os._exit(2)
    os.write(go_write, b"x")  # released: let the child try
    _, status = os.waitpid(pid, 0)
    os.close(go_read)
    os.close(go_write)
    assert os.waitstatus_to_exitcode(status) == 0
