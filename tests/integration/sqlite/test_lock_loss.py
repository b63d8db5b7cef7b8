"""Two handles on one file in one process must not cost that process its SQLite locks.

On Linux, closing *any* descriptor of a file drops every POSIX lock the process holds on it.
taskq once read the file's header with ``open()`` while SQLite held it open: the process lost
its locks, and the next process to close its last connection thought itself the last user,
checkpointed and deleted the WAL under the others' feet, and committed messages vanished.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3

import taskq
from taskq.brokers.sqlite import SQLiteBroker
from taskq.results.backends.sqlite import SQLiteBackend

from . import procs

spawn = multiprocessing.get_context("spawn")


def _locks_held_on(path: str, pid: int) -> int:
    inode = os.stat(path).st_ino
    with open("/proc/locks") as locks:
        return sum(
            1
            for line in locks
            if f" {pid} " in f" {line.split()[4]} " and line.split()[5].endswith(f":{inode}")
        )


def test_a_broker_and_a_backend_on_one_file_keep_the_process_locks(tmp_path):
    path = str(tmp_path / "taskq.db")
    broker = SQLiteBroker(path)
    broker.declare_queue("q")
    held = _locks_held_on(path, os.getpid())
    backend = SQLiteBackend(path)
    second = SQLiteBroker(path)
    try:
        assert held >= 1
        assert _locks_held_on(path, os.getpid()) >= held
    finally:
        second.close()
        backend.close()
        broker.close()


def test_every_committed_send_survives_producers_that_come_and_go(tmp_path, queue_name):
    path = str(tmp_path / "taskq.db")
    SQLiteBroker(path).close()
    started = spawn.Event()
    steady = spawn.Process(
        target=procs.produce_slowly_with_results, args=(path, queue_name, 200, started)
    )
    steady.start()
    assert started.wait(60), "the steady producer did not start"
    short_lived = [
        spawn.Process(target=procs.produce_and_exit, args=(path, queue_name, 1000 + 5 * i, 5))
        for i in range(8)
    ]
    for process in short_lived:
        process.start()
    for process in [*short_lived, steady]:
        process.join(120)
    assert [p.exitcode for p in [*short_lived, steady]] == [0] * 9
    with sqlite3.connect(path) as check:
        count = check.execute(
            "SELECT COUNT(*) FROM taskq_messages WHERE queue_name = ?", (queue_name,)
        ).fetchone()[0]
        integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
    assert (count, integrity) == (240, "ok")


def test_no_connection_crosses_a_fork(tmp_path):
    path = str(tmp_path / "taskq.db")
    broker = SQLiteBroker(path)

    @taskq.actor(queue_name="forked", broker=broker)
    def job(i: int) -> None:
        pass

    job.send(0)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: it must open its own connection and see the parent's row
        try:
            os.close(read)
            ready = broker.queue_stats()["forked"]["ready"]
            job.send(1)
            os.write(write, str(ready).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        seen_by_child = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert seen_by_child == "1"
    assert broker.queue_stats()["forked"]["ready"] == 2
    broker.close()
