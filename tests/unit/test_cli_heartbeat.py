"""The pieces of ``taskq worker`` that notice a wedged worker process and name the modules it
runs: the health check behind the heartbeat, the status pipe as the master reads it, and the
module lookups done before anything starts."""

from __future__ import annotations

import os
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from taskq.supervisor.children import WorkerChild
from taskq.supervisor.heartbeat import (
    BEAT,
    READY,
    STOPPING,
    AckWatch,
    HealthCheck,
    StatusPipe,
    kill_grace,
)
from taskq.supervisor.modules import missing_module, no_actors_warning, shadowed_file


class FakeConsumer:
    """What the health check reads of a consumer thread."""

    def __init__(self, last_fetch: float, *, alive: bool = True, paused: bool = False) -> None:
        self.last_fetch = last_fetch
        self.paused = threading.Event()
        if paused:
            self.paused.set()
        self._alive = alive

    def is_alive(self) -> bool:
        return self._alive


def fake_worker(**consumers: FakeConsumer) -> Any:
    return types.SimpleNamespace(worker_timeout=1000, consumers=consumers)


def test_an_idle_worker_that_polls_is_healthy() -> None:
    check = HealthCheck(AckWatch())
    assert check.check(fake_worker(default=FakeConsumer(time.monotonic())))
    assert check.check(fake_worker())  # no queue at all: nothing can be stuck
    assert check.problem is None


def test_a_consumer_without_answers_or_dead_is_stuck_unless_paused() -> None:
    check = HealthCheck(AckWatch())
    stale = time.monotonic() - 30
    assert not check.check(fake_worker(default=FakeConsumer(stale)))
    assert check.problem and "consumer of default got no answer" in check.problem
    assert not check.check(fake_worker(q=FakeConsumer(time.monotonic(), alive=False)))
    assert check.problem == "the consumer of q has died"
    assert check.check(fake_worker(default=FakeConsumer(stale, paused=True)))


def test_failing_acks_stop_the_beat_until_one_succeeds() -> None:
    acks = AckWatch()
    check = HealthCheck(acks)
    worker = fake_worker(default=FakeConsumer(time.monotonic()))
    for _ in range(3):
        acks.before_ack(None, None)  # type: ignore[arg-type]  # tried, never completed
    assert not check.check(worker)
    assert check.problem == "acks fail: none of the last 3 succeeded"
    assert not check.check(worker), "no ack since: still failing"
    acks.before_nack(None, None)  # type: ignore[arg-type]
    acks.after_nack(None, None)  # type: ignore[arg-type]
    assert check.check(worker)
    acks.before_ack(None, None)  # type: ignore[arg-type]
    acks.after_ack(None, None)  # type: ignore[arg-type]
    assert check.check(worker)


def test_the_master_reads_ready_beats_stop_and_end_of_file() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    child = WorkerChild(0, os.getpid(), read_fd)
    pipe = StatusPipe(write_fd)
    assert not child.poll_ready() and child.ready_fd == read_fd
    before = child.last_beat
    pipe.send(READY)
    assert child.poll_ready() and child.ready_fd is None
    assert child.last_beat >= before and not child.stopping
    pipe.send(BEAT)
    pipe.send(STOPPING)
    child.poll_status()
    assert child.stopping and child.silent_for() < 5
    pipe.close()
    child.poll_status()  # end of file: the master closes its end
    with pytest.raises(OSError):
        os.fstat(read_fd)


def test_the_grace_before_sigkill_is_bounded() -> None:
    assert kill_grace(3000) == 1.5
    assert kill_grace(600_000) == 10.0


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("json", None),
        ("json.decoder", None),
        ("no_such_module_xq", "no_such_module_xq"),
        ("json.no_such_xq", "json.no_such_xq"),
        ("os.path.nope", "os.path.nope"),  # os.path is a module, not a package
    ],
)
def test_modules_are_found_without_being_imported(name: str, missing: str | None) -> None:
    assert missing_module(name) == missing


def test_a_module_shadowed_by_the_standard_library_is_named(tmp_path: Path) -> None:
    import io

    (tmp_path / "io.py").write_text("import taskq\n")
    assert shadowed_file(io, [str(tmp_path)]) == str(tmp_path / "io.py")
    text = no_actors_warning({"io": io}, [str(tmp_path)])
    assert text.startswith(f"taskq worker io: module io ({io.__file__}) declares no actors")
    assert f"{tmp_path / 'io.py'} was not imported" in text and "rename your file" in text
    assert "\n" not in text
