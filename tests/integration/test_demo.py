"""`taskq demo` runs jobs end to end on the embedded SQLite broker, with no server."""

from __future__ import annotations

import os
import subprocess
import sys


def _run_demo(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    # An unreachable server URL in the environment proves the demo needs no Redis/RabbitMQ.
    env = {**os.environ, "TASKQ_BROKER_URL": "redis://127.0.0.1:1/0", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "taskq", "demo", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_demo_prints_every_result_and_stops_its_worker(tmp_path):
    demo = _run_demo(tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    assert "taskq worker taskq.demo_app -p 1 -t 4 --broker sqlite:///" in demo.stdout
    for expected in (
        "  add(2, 3) = 5",
        "  count_words('the quick brown fox jumps over the lazy dog') = 9",
        "  slow_square(3) = 9",
        "  slow_square(4) = 16",
        "  slow_square(5) = 25",
    ):
        assert expected in lines
    assert any("fail_on_purpose" in line and "ValueError" in line for line in lines)
    assert "All 6 results arrived" in demo.stdout and "exit code 0" in demo.stdout
    assert list(tmp_path.iterdir()) == []  # the temporary database is cleaned up


def test_demo_can_keep_its_database(tmp_path):
    demo = _run_demo(tmp_path, "--path", ".taskq/taskq.db")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (tmp_path / ".taskq" / "taskq.db").exists()


def test_demo_refuses_a_file_that_is_not_a_taskq_database(tmp_path):
    (tmp_path / "notes.txt").write_text("not a database")
    demo = _run_demo(tmp_path, "--path", "notes.txt")
    assert demo.returncode == 1
    assert "notes.txt is not a taskq database" in demo.stderr
    assert (tmp_path / "notes.txt").read_text() == "not a database"
