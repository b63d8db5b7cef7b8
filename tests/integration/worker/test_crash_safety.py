"""At-least-once under crashes: `kill -9` of a worker process mid-run loses no message."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import wait_for

from .conftest import OWN_SQLITE_BROKER, App, send

MESSAGES = 2000


@pytest.mark.faults
def test_kill_9_of_a_worker_mid_run_loses_no_message(app: App) -> None:
    # The module's broker leases messages for 1 s, so a dead worker's come back quickly.
    app.write_module(broker_setup=OWN_SQLITE_BROKER)
    app.enqueue("crunch", range(MESSAGES))
    master = app.start("worker", "app", "-p", "2", "-t", "4", "--shutdown-timeout", "10000")
    victim, survivor = app.wait_started(master, 2)
    wait_for(
        lambda: sum(1 for e in app.events("done") if e[2] == str(victim)) >= 100,
        timeout=60,
        message="the victim to be busy",
    )
    send(victim, signal.SIGKILL)

    def processed() -> set[str]:
        return {line[1] for line in app.events("done")}

    wait_for(lambda: len(processed()) == MESSAGES, timeout=90, message="every message")
    assert processed() == {str(n) for n in range(MESSAGES)}
    assert f"Worker process {victim} died unexpectedly" in app.output(master)
    assert master.poll() is None
    stats = app.queue_stats()
    assert stats["ready"] == 0 and stats["dead"] == 0
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
