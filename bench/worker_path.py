"""`python -m bench.worker_path`: microseconds one message spends in a worker thread.

Runs ``WorkerThread.process_message`` on pre-built RabbitMQ deliveries of a no-op actor, with
the RabbitMQ consumer's ack path up to the point where it hands the ack to the connection's
thread (no I/O), for three middleware stacks: none, Dramatiq's six defaults, and those with
Prometheus in front (as ``taskq worker`` runs them, buffered for a multiprocess directory).
Prints the best and the median of seven rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

STACKS = ("none", "default", "default+prometheus")


def _stack(name: str) -> list[Any]:
    from taskq.metrics.prometheus import Prometheus
    from taskq.middleware import default_middleware

    if name == "none":
        return []
    stack: list[Any] = [m() for m in default_middleware]
    return [Prometheus(), *stack] if name == "default+prometheus" else stack


def _unconnected_consumer() -> Any:
    """A RabbitmqConsumer as its worker threads see it, without a connection: acks queue up
    for the connection's thread, which never takes them."""
    from taskq.brokers.rabbitmq.consumer import RabbitmqConsumer

    consumer: Any = object.__new__(RabbitmqConsumer)
    consumer._owner_thread = -1
    consumer._lock = threading.Lock()
    consumer._pending = []
    consumer._waiting = False
    consumer._unacked = set()
    consumer.closed = False
    consumer._drain_scheduled = None
    consumer._ack_batch = 256
    return consumer


def per_message_us(make_stack: Callable[[], list[Any]], messages: int) -> float:
    """Microseconds per message through one worker thread's ``process_message``."""
    import taskq
    from taskq.brokers.rabbitmq.consumer import RabbitmqMessageProxy
    from taskq.brokers.stub import StubBroker
    from taskq.message import Message
    from taskq.worker import Worker
    from taskq.worker.consumer import ConsumerThread
    from taskq.worker.prefetch import PrefetchWindow
    from taskq.worker.thread import WorkerThread

    broker = StubBroker(middleware=make_stack())

    @taskq.actor(broker=broker, queue_name="bench")
    def noop() -> None:
        pass

    worker = Worker(broker, worker_threads=1)
    thread = WorkerThread(worker)
    fetcher = ConsumerThread(worker, "bench", window=PrefetchWindow(8), delay=False)
    consumer = fetcher.consumer = _unconnected_consumer()
    template: Message[Any] = Message(
        queue_name="bench", actor_name="noop", args=(), kwargs={}, options={}
    )
    deliveries = [
        RabbitmqMessageProxy(template.copy(), redelivered=False, tag=tag, owner=consumer)
        for tag in range(messages)
    ]
    consumer._unacked.update(range(messages))
    started = time.perf_counter()
    for count, delivery in enumerate(deliveries):
        thread.process_message(delivery, fetcher)
        if count % 256 == 0:
            consumer._pending.clear()
    return (time.perf_counter() - started) / messages * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="taskq-bench-"))
    for name in STACKS:

        def make_stack(name: str = name) -> list[Any]:
            return _stack(name)

        values = [per_message_us(make_stack, args.messages) for _ in range(args.rounds)]
        print(f"{name:20s} {min(values):6.2f} µs (median {statistics.median(values):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
