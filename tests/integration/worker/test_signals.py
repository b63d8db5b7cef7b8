"""Signals, reloads, recycling and crashed processes, through the real `taskq worker`."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.helpers import wait_for

from .conftest import App, is_running, send


def test_term_drains_started_messages_and_leaves_unstarted_ones_queued(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "2")
    app.wait_started(master)
    app.enqueue("block", range(10))
    wait_for(lambda: len(app.events("start")) == 2, message="two messages to start")
    send(master, signal.SIGTERM)
    wait_for(lambda: "Worker process stopping" in app.output(master))
    app.release()
    assert app.wait_exit(master) == 0
    started = {line[1] for line in app.events("start")}
    done = {line[1] for line in app.events("done")}
    assert len(started) == 2 and done == started
    stats = app.queue_stats()
    assert stats["ready"] == 8 and stats["in_flight"] == 0


def test_int_raises_shutdown_in_notify_shutdown_actors(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "2")
    app.wait_started(master)
    app.enqueue("long_job", [7])
    wait_for(lambda: app.events("start"), message="the long job to start")
    send(master, signal.SIGINT)
    assert app.wait_exit(master) == 0
    assert [line[1] for line in app.events("shutdown")] == ["7"]
    assert app.events("done") == []


def test_time_limit_interrupts_a_running_actor(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "1")
    app.wait_started(master)
    app.enqueue("overrun", [1])
    wait_for(lambda: app.events("time_limit"), message="TimeLimitExceeded in the actor")
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_hup_reloads_changed_code_and_keeps_the_master(app: App) -> None:
    app.write_module(version="v1")
    master = app.start_worker("-p", "2", "-t", "2")
    old_children = set(app.wait_started(master, 2))
    app.write_module(version="v2-reloaded")
    send(master, signal.SIGHUP)
    wait_for(
        lambda: len([e for e in app.events("import") if e[1] == "v2-reloaded"]) == 2,
        message="both worker processes to import the new code",
    )
    app.enqueue("work", range(20))
    wait_for(lambda: len(app.events("done")) == 20, message="20 messages to be processed")
    assert {line[2] for line in app.events("done")} == {"v2-reloaded"}
    assert master.poll() is None
    new_children = set(app.wait_started(master, 4, alive=2))
    assert not new_children & old_children
    assert not any(is_running(pid) for pid in old_children)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


@pytest.mark.parametrize("polling", [(), ("--watch-use-polling",)], ids=["events", "polling"])
def test_watch_reloads_when_a_python_file_changes(app: App, polling: tuple[str, ...]) -> None:
    app.write_module(version="v1")
    master = app.start_worker("-p", "1", "-t", "2", "--watch", str(app.directory), *polling)
    app.wait_started(master)
    app.change_module_and_wait_for_reload(master)
    app.enqueue("work", [1])
    wait_for(lambda: app.events("done"), message="the message to be processed")
    assert app.events("done")[0][2] == "v2-watched"
    assert "file(s) changed" in app.output(master)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_a_crashed_worker_process_is_replaced_alone(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "2", "-t", "2")
    first, second = app.wait_started(master, 2)
    send(first, signal.SIGKILL)
    wait_for(
        lambda: (
            f"Worker process {first} died unexpectedly (killed by signal SIGKILL)"
            in app.output(master)
        ),
        message="the master to log the crash",
    )
    children = app.wait_started(master, 3, alive=2)
    assert second in children and first not in children and len(children) == 2
    app.enqueue("work", range(10))
    wait_for(lambda: len(app.events("done")) == 10, message="work on the replaced pool")
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_max_tasks_per_child_recycles_the_worker_process(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "1", "--max-tasks-per-child", "5")
    [first] = app.wait_started(master)
    app.enqueue("work", range(8))
    wait_for(lambda: len({e[1] for e in app.events("done")}) == 8, message="all 8 messages")
    per_process = Counter(line[3] for line in app.events("done"))
    assert per_process[str(first)] == 5
    assert len(per_process) == 2 and sum(per_process.values()) == 8
    assert "recycling after" in app.output(master)
    assert "died unexpectedly" not in app.output(master)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_worker_processes_exit_when_the_master_is_killed(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "2", "-t", "2")
    children = app.wait_started(master, 2)
    send(master, signal.SIGKILL)
    master.wait(10)
    wait_for(
        lambda: not any(is_running(pid) for pid in children),
        timeout=10,
        message="orphaned worker processes to exit",
    )
    assert "master process" in app.output(master) and "is gone" in app.output(master)


def test_spawned_worker_processes_run_reload_and_stop(app: App) -> None:
    app.write_module(version="v1")
    master = app.start_worker("-p", "1", "-t", "2", "--spawn")
    [first] = app.wait_started(master)
    app.enqueue("work", [1])
    wait_for(lambda: app.events("done"), message="the first message")
    app.write_module(version="v2-spawned")
    send(master, signal.SIGHUP)
    wait_for(lambda: any(e[1] == "v2-spawned" for e in app.events("import")))
    app.enqueue("work", [2])
    wait_for(lambda: len(app.events("done")) == 2, message="the second message")
    assert [line[2] for line in app.events("done")] == ["v1", "v2-spawned"]
    assert first not in app.live_children(master)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_events_flag_publishes_lifecycle_events(app: App) -> None:
    pytest.importorskip("taskq.middleware.events")
    from taskq.brokers.sqlite import SQLiteBroker

    app.write_module()
    master = app.start_worker("-p", "1", "-t", "2", "--events")
    app.wait_started(master)
    app.enqueue("work", [1])
    wait_for(lambda: app.events("done"), message="the message")
    broker = SQLiteBroker(app.db_path)
    try:
        wait_for(
            lambda: any(e.get("actor_name") == "work" for e in broker.recent_events(limit=100)),
            message="a lifecycle event of the message",
        )
    finally:
        broker.close()
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0


def test_max_memory_per_child_recycles_a_process_above_the_limit(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "1", "--max-memory-per-child", "1")
    [first] = app.wait_started(master)
    second = app.wait_started(master, 2, alive=1)
    assert second != [first]
    output = app.output(master)
    assert "recycling at" in output and "MB resident (> 1)" in output
    assert "died unexpectedly" not in output
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
