"""The current message: inside an actor, ``CurrentMessage.get_current_message()`` returns the
message being processed (its id, its options such as the retry count, its timestamp).

Useful for logging with the message id, for idempotency keys, or to know which attempt this
is. Runs on the in-memory StubBroker. Run it: ``python examples/current_message.py``.
"""

import sys

import taskq
from taskq.brokers.stub import StubBroker
from taskq.middleware import CurrentMessage

broker = StubBroker()
broker.add_middleware(CurrentMessage())  # not in the default stack: add it to use it
taskq.set_broker(broker)


@taskq.actor(max_retries=3, min_backoff=10, max_backoff=10)
def charge(order_id: int) -> None:
    message = CurrentMessage.get_current_message()
    attempt = message.options.get("retries", 0) + 1
    print(f"charge({order_id}): message {message.message_id}, attempt {attempt}", flush=True)
    if attempt < 2:
        raise TimeoutError("the payment service did not answer")
    # The message id is stable across retries: a natural idempotency key.
    print(f"charge({order_id}): idempotency key {message.message_id}", flush=True)


def main() -> int:
    print("outside an actor:", CurrentMessage.get_current_message())
    worker = taskq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        charge.send(42)
        broker.join(charge.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
