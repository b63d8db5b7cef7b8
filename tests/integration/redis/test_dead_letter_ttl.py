"""RedisBroker takes dead_letter_ttl, like every broker, and Dramatiq's dead_message_ttl."""

from __future__ import annotations

import pytest

import taskq
from taskq.brokers.redis import RedisBroker

from ...helpers import wait_for

pytestmark = pytest.mark.redis


def test_dead_letter_ttl_and_dramatiqs_dead_message_ttl_are_one_setting(brokers, namespace):
    assert brokers(namespace=namespace, dead_letter_ttl=5000).dead_message_ttl == 5000
    assert brokers(namespace=namespace, dead_message_ttl=6000).dead_letter_ttl == 6000
    with pytest.raises(ValueError, match="dead_letter_ttl and dead_message_ttl"):
        RedisBroker(namespace=namespace, dead_letter_ttl=5000, dead_message_ttl=6000)


def test_dead_letters_older_than_dead_letter_ttl_expire(brokers, namespace, queue_name):
    broker = brokers(namespace=namespace, dead_letter_ttl=60_000)
    broker.declare_queue(queue_name)
    message = broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="a", args=(1,)))
    consumer = broker.consume(queue_name, prefetch=1, timeout=1000)
    fetched = wait_for(lambda: next(consumer), message="the message fetched")
    consumer.nack(fetched)
    assert [d.message_id for d in broker.dead_letter_messages(queue_name)] == [message.message_id]
    # Shortened only now: with 1 ms from the start, a maintenance pass that happens to run
    # during the nack could expire the letter before the first assertion sees it.
    broker.dead_letter_ttl = 1

    def expired() -> bool:
        broker._keeper.maintain()
        return broker.dead_letter_messages(queue_name) == []

    wait_for(expired, message="the dead letter expired")
    consumer.close()
