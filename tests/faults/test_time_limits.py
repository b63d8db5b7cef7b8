"""Time limits on a CPU-bound and on sleeping actors, and a shutdown during a long actor.

What CPython allows: the limit is an exception raised asynchronously in the actor's thread,
delivered between two bytecodes. A pure-Python loop and a loop of short sleeps are cut off; a
single long ``time.sleep`` (any blocking C call) is not interrupted: the exception arrives when
it returns, so the actor overruns its limit by the rest of that call.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskq
from taskq.broker import Broker, _reset_global_broker
from taskq.middleware import TimeLimitExceeded
from tests.helpers import wait_for

from .conftest import make_setup, teardown
from .support import APP, WorkerCLI

pytestmark = pytest.mark.faults

LIMIT_MS = 300
LONG_SLEEP_S = 2.0


@pytest.fixture
def redis_broker() -> Iterator[Broker]:
    from tests.factories.redis import make_broker

    with make_broker() as broker:
        taskq.set_broker(broker)
        try:
            yield broker
        finally:
            _reset_global_broker()


def test_time_limit_interrupts_cpu_bound_and_sleeping_actors(
    redis_broker: Broker, queue_name: str, start_worker: Any
) -> None:
    outcome: dict[str, Any] = {}

    def limited(name: str) -> Any:
        return taskq.actor(
            queue_name=queue_name, actor_name=name, time_limit=LIMIT_MS, max_retries=0
        )

    @limited("spin")
    def spin() -> None:
        total = 0
        try:
            while True:
                total += 1
        except TimeLimitExceeded:
            outcome["spin"] = "interrupted"
            raise

    @limited("short_sleeps")
    def short_sleeps() -> None:
        try:
            for _ in range(6000):
                time.sleep(0.01)
            outcome["short_sleeps"] = "finished"
        except TimeLimitExceeded:
            outcome["short_sleeps"] = "interrupted"
            raise

    @limited("one_long_sleep")
    def one_long_sleep() -> None:
        started = time.monotonic()
        try:
            time.sleep(LONG_SLEEP_S)
            outcome["after_sleep"] = "ran"
        except TimeLimitExceeded:
            outcome["one_long_sleep"] = time.monotonic() - started
            raise

    @taskq.actor(queue_name=queue_name, actor_name="quick")
    def quick() -> None:
        outcome["quick"] = "ran"

    for actor in (spin, short_sleeps, one_long_sleep, quick):
        actor.send()
    start_worker(redis_broker, worker_threads=4)
    letters = wait_for(
        lambda: len(found := redis_broker.dead_letter_messages(queue_name)) == 3 and found,
        timeout=60,
        message="the three overrunning messages dead-lettered",
    )
    assert sorted(letter.message.actor_name for letter in letters) == [
        "one_long_sleep",
        "short_sleeps",
        "spin",
    ]
    assert all("TimeLimitExceeded" in (letter.reason or "") for letter in letters)
    assert outcome["spin"] == "interrupted"
    assert outcome["short_sleeps"] == "interrupted"
    assert outcome["quick"] == "ran"
    # The single long sleep ran to its end; the limit struck right after it returned.
    assert outcome["one_long_sleep"] >= LONG_SLEEP_S
    assert "after_sleep" not in outcome


def test_term_during_long_actor_raises_shutdown_in_it(tmp_path: Path) -> None:
    setup = make_setup("sqlite", tmp_path)
    cli = WorkerCLI(setup.worker_env(), tmp_path / "worker.log", APP, "-p", "1", "-t", "2")
    try:
        cli.wait_children(1)
        setup.actors["fault_long"].send("long-1", 120.0)
        wait_for(lambda: setup.counts.processed(":started") == 1, 60, message="actor started")
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0, cli.output()[-3000:]
        assert setup.counts.all(":shutdown") == {"long-1": 1}
        assert setup.counts.all() == {}  # it never ran to completion
        letters = setup.broker.dead_letter_messages(setup.queue_name)
        assert [letter.message.args[0] for letter in letters] == ["long-1"]
        assert "Shutdown" in (letters[0].reason or "")
    finally:
        cli.kill_all()
        teardown(setup)
