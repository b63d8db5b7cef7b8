"""The SQLite stress test's actors and producers, on the default broker built from a URL.

``STRESS_DB`` names the file and ``STRESS_RUNS`` a folder where every run appends its token
(one line, before the ack), so a kill between the two shows up as a duplicate, never a loss.
As a script: ``python -m tests.faults.sqlite_stress_app produce FIRST COUNT`` sends COUNT
messages and reads every result back, printing how many it read.
"""

from __future__ import annotations

import os
import sys

import taskq
from taskq.urls import broker_from_url

#: A killed worker's messages come back after this lease (ms) instead of the default 30 s.
VISIBILITY_TIMEOUT = 2000

broker = broker_from_url(
    f"sqlite:///{os.environ['STRESS_DB']}", visibility_timeout=VISIBILITY_TIMEOUT
)
taskq.set_broker(broker)


@taskq.actor(queue_name="stress", store_results=True, max_retries=0)
def square(i: int) -> int:
    """Record this run, then return ``i * i``."""
    with open(os.path.join(os.environ["STRESS_RUNS"], f"{os.getpid()}.log"), "a") as runs:
        runs.write(f"{i}\n")
    return i * i


def produce(first: int, count: int) -> None:
    """Send ``count`` messages in rounds of 30, reading each round's results back."""
    read = 0
    for start in range(first, first + count, 30):
        sent = [square.send(i) for i in range(start, min(start + 30, first + count))]
        for message in sent:
            result = message.get_result(block=True, timeout=120_000)
            assert result == message.args[0] ** 2, (message.args, result)
            read += 1
    print(read)


if __name__ == "__main__":
    produce(int(sys.argv[2]), int(sys.argv[3]))
