"""A program written for Dramatiq that runs on taskq by changing only its imports.

Swap every ``taskq`` below for ``dramatiq`` and it runs on Dramatiq 2.x with the same output
(tests/unit/test_dramatiq_program.py checks both). Run it: ``python examples/dramatiq_program.py``.
"""

import threading

import taskq as dramatiq
from taskq.brokers.stub import StubBroker
from taskq.middleware import GroupCallbacks
from taskq.rate_limits import ConcurrentRateLimiter
from taskq.rate_limits.backends import StubBackend as RateLimiterStubBackend
from taskq.results import ResultFailure, Results
from taskq.results.backends import StubBackend

rate_limiter_backend = RateLimiterStubBackend()
broker = StubBroker()
broker.add_middleware(Results(backend=StubBackend()))
broker.add_middleware(GroupCallbacks(rate_limiter_backend))
dramatiq.set_broker(broker)

attempts = {"flaky": 0}
finished_groups = []
mutex = ConcurrentRateLimiter(rate_limiter_backend, "example-mutex", limit=1)
lock = threading.Lock()


@dramatiq.actor(store_results=True)
def add(x, y):
    return x + y


@dramatiq.actor(store_results=True)
def square(x):
    return x * x


@dramatiq.actor(store_results=True)
def constant(value):
    return value


@dramatiq.actor(store_results=True, max_retries=5, min_backoff=10, max_backoff=50)
def flaky(value):
    with lock:
        attempts["flaky"] += 1
        attempt = attempts["flaky"]
    if attempt < 3:
        raise RuntimeError(f"attempt {attempt} fails")
    return f"{value} after {attempt} attempts"


@dramatiq.actor(store_results=True, max_retries=0)
def broken():
    raise ValueError("this actor always fails")


@dramatiq.actor(store_results=True)
def guarded(x):
    with mutex.acquire():
        return x + 1


@dramatiq.actor
def group_finished():
    finished_groups.append("done")


def main():
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=4)
    worker.start()
    try:
        message = add.send(1, 2)
        print("add:", message.get_result(block=True, timeout=10_000))

        chain = (
            add.message(1, 2)
            | square.message()
            | constant.message_with_options(args=(7,), pipe_ignore=True)
        )
        chain.run()
        print("pipeline:", chain.get_result(block=True, timeout=10_000))

        numbers = dramatiq.group([square.message(n) for n in range(5)])
        numbers.add_completion_callback(group_finished.message())
        numbers.run()
        numbers.wait(timeout=10_000)
        print("group:", list(numbers.get_results()))
        print("group completed:", numbers.completed_count, "of", len(numbers))

        retried = flaky.send("ok")
        print("retries:", retried.get_result(block=True, timeout=10_000))

        failed = broken.send()
        try:
            failed.get_result(block=True, timeout=10_000)
        except ResultFailure as e:
            print("failure:", e.orig_exc_type, e.orig_exc_msg)

        print("rate limited:", guarded.send(41).get_result(block=True, timeout=10_000))

        broker.join(group_finished.queue_name, timeout=10_000, fail_fast=False)
        worker.join()
        print("group callback ran:", finished_groups)
        print("dead letters:", [m.actor_name for m in broker.dead_letters])
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
