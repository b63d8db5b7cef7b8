"""A consumer whose prefetch changes while deliveries stream in loses none of them.

Acks that cover every tag up to one (``multiple=True``) must never cover a delivery the
consumer did not hand out, whatever the prefetch did meanwhile; four threads ack out of order,
as a worker's do.
"""

from __future__ import annotations

import queue
import threading
import uuid

import pytest

import taskq

from ...factories.rabbitmq import make_broker
from ...helpers import wait_for

pytestmark = pytest.mark.rabbitmq

TOTAL = 3000


def test_every_message_is_handed_out_once_the_prefetch_has_changed_mid_stream() -> None:
    with make_broker() as broker:

        @taskq.actor(broker=broker, queue_name=f"prefetch_changes_{uuid.uuid4().hex[:8]}")
        def job(number: int) -> None:
            pass

        broker.enqueue_many([job.message(i) for i in range(TOTAL)])
        wait_for(lambda: broker.get_queue_message_counts(job.queue_name)[0] == TOTAL)
        consumer = broker.consume(job.queue_name, prefetch=16, timeout=200)
        done: queue.SimpleQueue = queue.SimpleQueue()

        def settle() -> None:
            while (message := done.get()) is not None:
                consumer.ack(message)

        settlers = [threading.Thread(target=settle) for _ in range(4)]
        for thread in settlers:
            thread.start()
        seen: set[int] = set()
        try:
            fetched = 0
            while len(seen) < TOTAL:
                message = next(consumer)
                if message is None:
                    if broker.get_queue_message_counts(job.queue_name)[0] == 0 and not (
                        consumer.holds_more()
                    ):
                        break  # nothing left anywhere: the rest was lost
                    continue
                seen.add(message.args[0])
                done.put(message)
                fetched += 1
                if fetched % 250 == 0:
                    consumer.set_prefetch(16 if fetched % 500 else 400)
        finally:
            for _ in settlers:
                done.put(None)
            for thread in settlers:
                thread.join()
            consumer.close()
        assert len(seen) == TOTAL
