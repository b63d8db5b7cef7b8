"""Files that are not usable taskq databases fail with a clear message and lose nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

import taskq
from taskq.brokers.sqlite import (
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseIOError,
    DatabaseLocked,
    DatabaseReadOnly,
    NotATaskqDatabase,
    SQLiteBroker,
)


def _count_ready(path, queue_name) -> int:
    broker = SQLiteBroker(path)
    try:
        return broker.queue_stats()[queue_name]["ready"]
    finally:
        broker.close()


def test_a_text_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    with pytest.raises(NotATaskqDatabase) as error:
        SQLiteBroker(path)
    assert str(path) in str(error.value)
    assert "not an SQLite file" in str(error.value)
    assert path.read_text() == "shopping list\n"


def test_another_programs_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as foreign:
        foreign.execute("CREATE TABLE users (name TEXT)")
        foreign.execute("INSERT INTO users VALUES ('ada')")
    with pytest.raises(NotATaskqDatabase) as error:
        SQLiteBroker(path)
    assert str(path) in str(error.value) and "users" in str(error.value)
    with sqlite3.connect(path) as foreign:
        assert foreign.execute("SELECT name FROM users").fetchall() == [("ada",)]
        tables = foreign.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == [("users",)]


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(NotATaskqDatabase, match="is a directory"):
        SQLiteBroker(tmp_path)


def test_a_locked_database_names_the_file_and_keeps_committed_messages(tmp_path, queue_name):
    path = tmp_path / "taskq.db"
    broker = SQLiteBroker(path, busy_timeout=200)

    @taskq.actor(queue_name=queue_name, broker=broker)
    def job(i):
        pass

    job.send(1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLocked) as error:
            job.send(2)
        assert str(path) in str(error.value) and "200 ms" in str(error.value)
        assert isinstance(error.value, taskq.ConnectionError)  # the worker retries these
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    job.send(3)
    assert broker.queue_stats()[queue_name]["ready"] == 2
    broker.close()


def _run_child(code: str, *, drop_root: bool = False, preexec=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if drop_root and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, preexec_fn=preexec, cwd=os.getcwd()
    )


def test_a_read_only_file_gives_a_clear_error(tmp_path, queue_name):
    path = tmp_path / "taskq.db"
    broker = SQLiteBroker(path)
    broker.declare_queue(queue_name)
    broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="job"))
    broker.close()
    for leftover in tmp_path.glob("taskq.db-*"):
        leftover.unlink()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        child = _run_child(
            f"""
            from taskq.brokers.sqlite import SQLiteBroker, DatabaseReadOnly
            try:
                SQLiteBroker({str(path)!r})
            except DatabaseReadOnly as e:
                print(e)
            else:
                print("opened without complaint")
            """,
            drop_root=True,
        )
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert child.returncode == 0, child.stderr
    assert str(path) in child.stdout and "read-only" in child.stdout
    assert _count_ready(path, queue_name) == 1


def test_a_read_only_directory_gives_a_clear_error(tmp_path):
    directory = tmp_path / "locked"
    directory.mkdir()
    directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        child = _run_child(
            f"""
            from taskq.brokers.sqlite import SQLiteBroker, DatabaseReadOnly
            try:
                SQLiteBroker({str(directory / "taskq.db")!r})
            except DatabaseReadOnly as e:
                print(e)
            else:
                print("opened without complaint")
            """,
            drop_root=True,
        )
    finally:
        directory.chmod(stat.S_IRWXU)
    assert child.returncode == 0, child.stderr
    assert str(directory) in child.stdout and "writable" in child.stdout


def _limit_file_size() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))


def test_a_file_size_limit_is_an_io_error_and_keeps_what_was_committed(tmp_path, queue_name):
    path = tmp_path / "taskq.db"
    SQLiteBroker(path).close()  # the schema exists before the size limit applies
    child = _run_child(
        f"""
        import taskq
        from taskq.brokers.sqlite import SQLiteBroker, DatabaseIOError
        broker = SQLiteBroker({str(path)!r})
        broker.declare_queue({queue_name!r})
        sent = 0
        try:
            for i in range(1000):
                broker.enqueue(taskq.Message(queue_name={queue_name!r}, actor_name="job",
                                             args=("x" * 20_000,)))
                sent += 1
        except DatabaseIOError as e:
            print(sent)
            print(e)
        """,
        preexec=_limit_file_size,
    )
    assert child.returncode == 0, child.stderr
    sent, reason = child.stdout.split("\n", 1)
    assert 0 < int(sent) < 1000
    assert str(path) in reason and "I/O error" in reason and "full" not in reason
    assert _count_ready(path, queue_name) == int(sent)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_error_classes_are_broker_errors():
    for kind in (
        DatabaseCorrupt,
        DatabaseFull,
        DatabaseIOError,
        DatabaseLocked,
        DatabaseReadOnly,
        NotATaskqDatabase,
    ):
        assert issubclass(kind, taskq.BrokerError)


def test_a_damaged_database_is_reported_as_damaged(tmp_path, queue_name):
    path = tmp_path / "taskq.db"
    broker = SQLiteBroker(path)
    broker.declare_queue(queue_name)
    for i in range(50):
        broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="job", args=(i,)))
    broker.close()
    with sqlite3.connect(path) as check:
        check.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 : len(data)] = b"\xa5" * (len(data) - 4096)  # every page after the header page
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupt) as error:
        damaged = SQLiteBroker(path)
        damaged.queue_stats()
    assert str(path) in str(error.value)
    assert "damaged" in str(error.value) and "malformed" in str(error.value)
