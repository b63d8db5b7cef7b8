"""Run by test_full_disk in a private mount namespace: fill a small disk, then drain it."""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading

import taskq
from taskq.brokers.sqlite import DatabaseFull, SQLiteBroker

from ...helpers import wait_for


def main(directory: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    broker = SQLiteBroker(f"{directory}/taskq.db")
    done: list[int] = []
    lock = threading.Lock()

    @taskq.actor(queue_name="fill", broker=broker)
    def job(i: int, blob: str) -> None:
        with lock:
            done.append(i)

    sent = 0
    try:
        while sent < 100_000:
            job.send(sent, "x" * 2000)
            sent += 1
    except DatabaseFull as e:
        print(f"refused after {sent}: {e}", file=sys.stderr)
    worker = taskq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        wait_for(lambda: len(done) >= sent, timeout=60, interval=0.05, message="the drain")
    finally:
        worker.stop(10_000)
    with sqlite3.connect(f"{directory}/taskq.db") as check:
        integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
    print(f"sent={sent} ran={len(done)} distinct={len(set(done))} integrity={integrity}")


if __name__ == "__main__":
    main(sys.argv[1])
