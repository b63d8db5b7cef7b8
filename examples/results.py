"""Results: actors with ``store_results=True`` keep what they return; ``get_result`` fetches it.

The broker and the results both live in one SQLite file, so any process that opens the same
file sees them. The worker runs in this process (``taskq.Worker``), which is handy in scripts
and tests; in production you would run ``taskq worker results`` instead.
Run it: ``python examples/results.py``.
"""

import os
import sys
import tempfile

import taskq
from taskq.brokers.sqlite import SQLiteBroker
from taskq.results import ResultFailure, ResultMissing, Results
from taskq.results.backends import SQLiteBackend

path = os.path.join(tempfile.mkdtemp(prefix="taskq-results-"), "taskq.db")
broker = SQLiteBroker(path=path)
broker.add_middleware(Results(backend=SQLiteBackend(path=path)))
taskq.set_broker(broker)


@taskq.actor(store_results=True)
def multiply(x: int, y: int) -> int:
    return x * y


@taskq.actor(store_results=True, max_retries=0)
def divide(x: int, y: int) -> float:
    return x / y


def main() -> int:
    product = multiply.send(6, 7)
    failing = divide.send(1, 0)

    try:  # nothing has run yet: without block=True, a missing result raises at once
        product.get_result()
    except ResultMissing:
        print("no result yet: no worker is running")

    worker = taskq.Worker(broker, worker_threads=2)
    worker.start()
    try:
        print("6 x 7 =", product.get_result(block=True, timeout=10_000))
        try:
            failing.get_result(block=True, timeout=10_000)
        except ResultFailure as e:
            print(f"divide(1, 0) failed: {e.orig_exc_type}: {e.orig_exc_msg}")
    finally:
        worker.stop()
        broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
