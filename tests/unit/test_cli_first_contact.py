"""First-contact errors of the ``taskq`` command on SQLite files: one line on stderr, exit 2 for
a bad argument or a file that is not a usable database, 3 for a broker that cannot be opened;
``taskq enqueue`` warns when no worker consumes the actor's queue, and still enqueues."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskq.cli import main

TASKQ = [sys.executable, "-m", "taskq"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("taskq: error: "), err
    assert "Traceback" not in err
    return lines[0]


def damaged_database(path: Path) -> Path:
    """A taskq database holding a few messages whose pages after the first are overwritten."""
    from taskq.brokers.sqlite import SQLiteBroker
    from taskq.message import Message

    broker = SQLiteBroker(path)
    broker.declare_queue("default")
    broker.enqueue_many([Message("default", "add", args=("x" * 500,)) for _ in range(100)])
    broker.close()
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.seek(4096)
        file.write(os.urandom(size - 4096))
    return path


def test_a_directory_that_cannot_be_created_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "enqueue", "add", "[1]", "--broker", "sqlite:////proc/nope/x.db")
    assert code == 3 and out == ""
    assert "/proc/nope" in one_error_line(err)


def test_a_directory_that_is_not_writable_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "info", "--broker", "sqlite:////sys/x.db")
    assert code == 3
    assert "/sys/x.db" in one_error_line(err)


def test_a_file_that_is_not_sqlite_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notadb.db").write_text("hello, this is not a database\n" * 10)
    code, _, err = run(capsys, "info", "--broker", f"sqlite:///{tmp_path / 'notadb.db'}")
    assert code == 2
    line = one_error_line(err)
    assert "notadb.db" in line and "not a taskq database" in line


def test_a_damaged_file_exits_2_and_says_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = damaged_database(tmp_path / "damaged.db")
    code, _, err = run(capsys, "enqueue", "add", "[1]", "--broker", f"sqlite:///{path}")
    assert code == 2
    line = one_error_line(err)
    assert str(path) in line and "malformed" in line


def test_enqueue_to_an_actor_no_worker_declared_warns_and_enqueues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    code, out, err = run(capsys, "enqueue", "nosuchactor", "[1]", "--broker", url)
    assert code == 0
    assert out.startswith("enqueued nosuchactor(1) as ")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("taskq: warning: ")
    assert "no worker has declared actor 'nosuchactor'" in lines[0]
    assert "'default'" in lines[0]
    code, out, _ = run(capsys, "info", "--json", "--broker", url)
    assert code == 0 and '"ready": 1' in out


def taskq(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "taskq_prom_port": "0"}
    env.pop("TASKQ_BROKER_URL", None)
    return subprocess.run(
        [*TASKQ, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["no_such_module_xq"], "cannot import module 'no_such_module_xq'"),
        (["json.no_such_xq"], "'json' has no module named 'no_such_xq'"),
        (["tasks", "--prom-port", "70000"], "--prom-port must be from 0 to 65535"),
        (["tasks", "--heartbeat-timeout", "500"], "--heartbeat-timeout must be 0 (off) or at"),
        (["tasks", "--worker-fork-timeout", "soon"], "worker-fork-timeout be a number"),
        (["tasks", "--worker-fork-timeout", "5"], "worker-fork-timeout too small"),
        (["tasks", "--worker-fork-timeout", "3_600_000"], "worker-fork-timeout too large"),
        (["tasks", "--fork-function", "tasks"], "--fork-function 'tasks' is malformed"),
    ],
)
def test_worker_refuses_before_starting_anything(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    (tmp_path / "tasks.py").write_text("import taskq\n\n@taskq.actor\ndef add(x):\n    pass\n")
    result = taskq("worker", *args, "-p", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and complaint in lines[0], result.stderr
    assert not (tmp_path / ".taskq").exists()  # no broker file was created either


@pytest.mark.parametrize(
    "command", [["info"], ["info", "--json"], ["events"], ["tui", "--read-only"]]
)
def test_inspecting_a_missing_sqlite_file_exits_3_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    if command[0] == "tui":
        pytest.importorskip("textual")
    path = tmp_path / "missing" / "dir" / "x.db"
    url = f"sqlite:///{path}"
    code, out, err = run(capsys, *command, "--broker", url)
    assert code == 3, (out, err)
    line = one_error_line(err)
    assert line.startswith(f"taskq: error: cannot reach the broker at {url}: ")
    assert f"no database file at {path}" in line
    assert "No queues found" not in out
    assert not (tmp_path / "missing").exists()


def test_a_producer_still_creates_the_sqlite_file_on_first_use(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "new" / "x.db"
    code, _, err = run(capsys, "enqueue", "add", "[1]", "--broker", f"sqlite:///{path}")
    assert code == 0, err
    assert path.is_file()
    code, out, err = run(capsys, "info", "--json", "--broker", f"sqlite:///{path}")
    assert code == 0, err
