"""Pipelines and groups: chain actors (each result feeds the next) and fan work out in parallel.

Runs on the in-memory ``StubBroker`` with an in-process ``taskq.Worker``, so it needs no server.
Run it: ``python examples/pipelines_and_groups.py``.
"""

import sys

import taskq
from taskq.brokers.stub import StubBroker
from taskq.middleware import GroupCallbacks
from taskq.rate_limits.backends import StubBackend as RateLimiterBackend
from taskq.results import Results
from taskq.results.backends import StubBackend

broker = StubBroker()
broker.add_middleware(Results(backend=StubBackend()))
# Completion callbacks of groups count finished members in a rate-limiter backend; use the
# Redis or Memcached one when your workers run in several processes.
broker.add_middleware(GroupCallbacks(RateLimiterBackend()))
taskq.set_broker(broker)


@taskq.actor(store_results=True)
def add(x: int, y: int) -> int:
    return x + y


@taskq.actor(store_results=True)
def square(x: int) -> int:
    return x * x


@taskq.actor(store_results=True)
def total(values: list[int]) -> int:
    return sum(values)


@taskq.actor
def announce(text: str) -> None:
    print(text, flush=True)


def main() -> int:
    worker = taskq.Worker(broker, worker_threads=4)
    worker.start()
    try:
        # A pipeline: each step's result is appended to the next step's arguments.
        chain = taskq.pipeline([add.message(1, 2), square.message(), add.message(10)]).run()
        print("(1 + 2)^2 + 10 =", chain.get_result(block=True, timeout=10_000))

        # The | operator builds the same thing.
        chain = (add.message(2, 3) | square.message()).run()
        print("(2 + 3)^2 =", chain.get_result(block=True, timeout=10_000))

        # A group runs its members in parallel; get_results yields them in order.
        squares = taskq.group(square.message(n) for n in range(5)).run()
        print("squares:", list(squares.get_results(block=True, timeout=10_000)))

        # A group piped into an actor: the actor receives the list of the group's results.
        summed = (taskq.group(square.message(n) for n in range(5)) | total.message()).run()
        print("sum of squares:", summed.get_result(block=True, timeout=10_000))

        # A completion callback runs once every member of the group has finished.
        jobs = taskq.group(add.message(n, n) for n in range(3))
        jobs.add_completion_callback(announce.message("every add() finished"))
        jobs.run()
        jobs.wait(timeout=10_000)
        broker.join(announce.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
