"""Retries and dead letters: a flaky actor succeeds on its third try; a broken one ends up in
the dead-letter store, where you can inspect it, requeue it or purge it.

Uses the embedded SQLite broker and an in-process worker. Backoffs are shortened to a few
milliseconds so the example finishes quickly (the defaults are 15 s growing to 7 days).
Run it: ``python examples/retries_and_dead_letters.py``.
"""

import os
import sys
import tempfile
import threading

import taskq
from taskq.brokers.sqlite import SQLiteBroker

broker = SQLiteBroker(path=os.path.join(tempfile.mkdtemp(prefix="taskq-retries-"), "taskq.db"))
taskq.set_broker(broker)

attempts: dict[str, int] = {}
attempts_lock = threading.Lock()


def count_attempt(key: str) -> int:
    with attempts_lock:
        attempts[key] = attempts.get(key, 0) + 1
        return attempts[key]


@taskq.actor(max_retries=5, min_backoff=10, max_backoff=100)
def flaky(order_id: int) -> None:
    attempt = count_attempt(f"flaky-{order_id}")
    if attempt < 3:
        raise ConnectionError(f"payment service unavailable (attempt {attempt})")
    print(f"order {order_id} charged on attempt {attempt}", flush=True)


@taskq.actor(max_retries=2, min_backoff=10, max_backoff=20)
def broken(order_id: int) -> None:
    count_attempt(f"broken-{order_id}")
    raise ValueError(f"order {order_id} has no customer")


@taskq.actor(max_retries=3, throws=(KeyError,))
def strict(key: str) -> None:
    # Exceptions listed in ``throws`` are never retried: the message is dead-lettered at once.
    count_attempt("strict")
    raise KeyError(key)


def main() -> int:
    worker = taskq.Worker(broker, worker_threads=2)
    worker.start()
    try:
        flaky.send(1)
        broken.send(2)
        strict.send("missing")
        broker.join("default", timeout=30_000)
    finally:
        worker.stop()

    print(f"broken ran {attempts['broken-2']} times, strict ran {attempts['strict']} time(s)")
    dead = broker.dead_letter_messages("default")
    for letter in dead:
        print(f"dead letter: {letter.message} -- {letter.reason.strip().splitlines()[-1]}")

    # After fixing the cause, put a dead letter back on its queue...
    requeued = broker.requeue_dead_letters("default", [dead[0].message_id])
    print(f"requeued {requeued} message(s); queue stats: {broker.queue_stats()['default']}")
    # ...or drop them for good.
    print(f"purged {broker.purge_dead_letters('default')} dead letter(s)")
    broker.flush("default")
    broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
