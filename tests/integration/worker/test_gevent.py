"""`taskq-gevent` and `taskq worker --gevent`: worker threads are greenlets."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_for

from .conftest import App, send

pytest.importorskip("gevent")

TASKQ_GEVENT = Path(sys.executable).parent / "taskq-gevent"


def gevent_command() -> list[str]:
    if TASKQ_GEVENT.exists():
        return [str(TASKQ_GEVENT)]
    return [sys.executable, "-c", "import sys; from taskq.cli.gevent import main; sys.exit(main())"]


def test_taskq_gevent_runs_hundreds_of_io_bound_messages_at_once(app: App) -> None:
    app.write_module()
    app.enqueue("io_bound", range(500))
    master = app.start("app", "--broker", app.url, "-p", "1", "-t", "250", command=gevent_command())
    wait_for(lambda: len(app.events("done")) == 500, timeout=60, message="500 messages")
    most_in_flight = max(int(line[2]) for line in app.events("done"))
    assert most_in_flight > 100, f"at most {most_in_flight} in flight:\n{app.output(master)}"
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_worker_gevent_flag_interrupts_greenlets_on_time_limit_and_shutdown(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "4", "--gevent")
    app.wait_started(master)
    app.enqueue("overrun", [1])
    wait_for(lambda: app.events("time_limit"), message="TimeLimitExceeded in the greenlet")
    app.enqueue("long_job", [2])
    wait_for(lambda: [e for e in app.events("start") if e[1] == "2"], message="long job start")
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
    assert [line[1] for line in app.events("shutdown")] == ["2"]
    assert app.events("done") == []


def test_worker_gevent_flag_with_a_polling_watcher_starts_and_reloads(app: App) -> None:
    # The polling watcher runs in an OS thread; were it to sleep through gevent's patched
    # time.sleep, it would start a second hub while the master starts its own, and the two
    # deadlocked on gevent's import locks about one start in two.
    app.write_module(version="v1")
    master = app.start_worker(
        "-p", "1", "-t", "2", "--gevent", "--watch", str(app.directory), "--watch-use-polling"
    )
    app.wait_started(master)
    app.change_module_and_wait_for_reload(master)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
