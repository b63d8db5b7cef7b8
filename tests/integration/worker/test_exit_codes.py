"""`taskq worker` exit codes 0-4 and pid-file handling, through the real command."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.helpers import wait_for

from .conftest import App, is_running, send


def test_graceful_stop_exits_0_and_logs_each_worker_start_and_stop(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "2", "-t", "2")
    app.wait_started(master, 2)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
    output = app.output(master)
    assert output.count("Worker process started") == 2
    assert output.count("Worker process stopped") == 2
    assert "[PID " in output and "[MainThread]" in output


def test_json_log_format_writes_one_object_per_line(app: App) -> None:
    import json

    app.write_module()
    log_file = app.directory / "worker.log"
    master = app.start_worker("-p", "1", "--log-format", "json", "--log-file", str(log_file))
    wait_for(lambda: "worker_started" in (log_file.read_text() if log_file.exists() else ""))
    send(master, signal.SIGINT)
    assert app.wait_exit(master) == 0
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    started = [r for r in records if r.get("event") == "worker_started"]
    stopped = [r for r in records if r.get("event") == "worker_stopped"]
    assert len(started) == 1 and len(stopped) == 1
    assert started[0]["pid"] != master.pid and started[0]["thread"] == "MainThread"


def test_module_that_fails_to_import_exits_2_with_its_traceback(app: App) -> None:
    app.write_raw_module("broken", "import taskq\nraise RuntimeError('boom at import')\n")
    master = app.start_worker("-p", "2", module="broken")
    assert app.wait_exit(master) == 2
    output = app.output(master)
    assert "Traceback" in output and "RuntimeError: boom at import" in output
    assert "cannot import module 'broken'" in output
    assert "Worker process started" not in output


def test_processes_starting_together_report_an_import_error_once(app: App) -> None:
    app.write_raw_module("broken", "import taskq\nraise RuntimeError('boom at import')\n")
    master = app.start_worker("-p", "3", module="broken")
    assert app.wait_exit(master) == 2
    output = app.output(master)
    assert output.count("cannot import module 'broken'") == 1, output
    assert output.count("RuntimeError: boom at import") == 1, output


def test_what_the_application_writes_at_import_reaches_stderr_from_every_process(
    app: App,
) -> None:
    app.write_module()
    source = (app.directory / "app.py").read_text()
    noisy = "import sys\nsys.stderr.write('hello from the import\\n')\n" + source
    app.write_raw_module("noisy", noisy)
    master = app.start_worker("-p", "2", module="noisy")
    app.wait_started(master, 2)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
    assert app.output(master).count("hello from the import") == 2


def test_missing_module_exits_2_with_one_line_before_anything_starts(app: App) -> None:
    master = app.start_worker(module="no_such_module_here")
    assert app.wait_exit(master) == 2
    output = app.output(master)
    assert output.count("\n") == 1, output
    assert "cannot import module 'no_such_module_here'" in output
    assert "Master process started" not in output and "Serving metrics" not in output


def test_broker_variable_that_is_not_a_broker_exits_2(app: App) -> None:
    app.write_module()
    master = app.start_worker(module="app:VERSION")
    assert app.wait_exit(master) == 2
    assert "'app:VERSION' is not a Broker. It is a str" in app.output(master)


def test_a_missing_broker_variable_is_named(app: App) -> None:
    app.write_module()
    master = app.start_worker(module="app:no_such_broker")
    assert app.wait_exit(master) == 2
    assert "Module 'app' does not define a 'no_such_broker' variable." in app.output(master)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-p", "0"], "--processes must be at least 1"),
        (["--threads", "many"], "invalid int value"),
        (["--no-such-option"], "unrecognized arguments"),
        (["--watch", "/no/such/dir"], "'/no/such/dir' does not exist"),
        (["bad:spec:x"], "is malformed"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(app: App, args: list[str], reason: str) -> None:
    app.write_module()
    master = app.start("worker", "app", *args)
    assert app.wait_exit(master) == 2
    output = app.output(master).strip()
    assert reason in output
    assert len(output.splitlines()) == 1


def test_unreachable_sqlite_broker_exits_3_with_one_line(app: App) -> None:
    app.write_module()
    master = app.start("worker", "app", "--broker", "sqlite:////proc/taskq-nowhere/q.db")
    assert app.wait_exit(master) == 3
    output = app.output(master)
    lines = [line for line in output.splitlines() if line.startswith("taskq:")]
    assert len(lines) == 1 and "sqlite:////proc/taskq-nowhere/q.db" in lines[0]
    assert "Traceback" not in output


def test_unreachable_redis_broker_exits_3_naming_the_masked_url(app: App) -> None:
    pytest.importorskip("taskq.brokers.redis")
    app.write_module()
    url = "redis://:hunter2secret@127.0.0.1:1/0"
    master = app.start("worker", "app", "--broker", url)
    assert app.wait_exit(master) == 3
    output = app.output(master)
    assert "redis://:***@127.0.0.1:1/0" in output
    assert "hunter2secret" not in output
    assert "Traceback" not in output


def test_pid_file_naming_a_live_process_exits_4_and_is_left_alone(app: App) -> None:
    app.write_module()
    pid_file = app.directory / "taskq.pid"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid_file.write_text(f"{live.pid}\n")
        master = app.start_worker("--pid-file", str(pid_file))
        assert app.wait_exit(master) == 4
        assert f"names process {live.pid}" in app.output(master)
        assert pid_file.read_text().strip() == str(live.pid)
    finally:
        live.kill()
        live.wait()


def test_a_pid_file_holding_something_else_exits_4_and_is_left_alone(app: App) -> None:
    app.write_module()
    settings = app.directory / "settings.ini"  # --pid-file pointed at the wrong file
    settings.write_text("[worker]\nthreads = 4\n")
    master = app.start_worker("--pid-file", str(settings))
    assert app.wait_exit(master) == 4
    assert "holds something other than a process id" in app.output(master)
    assert settings.read_text() == "[worker]\nthreads = 4\n"


def test_stale_pid_file_is_replaced_and_removed_at_exit(app: App) -> None:
    app.write_module()
    pid_file = app.directory / "run" / "taskq.pid"
    pid_file.parent.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file.write_text(f"{gone.pid}\n")
    master = app.start_worker("-p", "1", "--pid-file", str(pid_file))
    app.wait_started(master)
    assert pid_file.read_text().strip() == str(master.pid)
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 0
    assert not pid_file.exists()


def test_second_term_kills_running_workers_and_exits_1(app: App) -> None:
    app.write_module()
    master = app.start_worker("-p", "1", "-t", "2")
    [child] = app.wait_started(master)
    app.enqueue("block", range(2))
    wait_for(lambda: len(app.events("start")) == 2, message="both messages to start")
    send(master, signal.SIGTERM)
    wait_for(lambda: "Worker process stopping" in app.output(master))
    send(master, signal.SIGTERM)
    assert app.wait_exit(master) == 1
    assert not is_running(child)
    assert app.events("done") == []
    assert "killing the worker processes" in app.output(master)
