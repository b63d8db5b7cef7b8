"""What every broker does the same way: where it logs, and how long it keeps dead letters."""

from __future__ import annotations

import logging

import taskq
from taskq.common import current_millis

from ...helpers import wait_for


def test_an_undecodable_message_is_logged_once_on_the_brokers_logger(
    any_broker, broker_kind, queue_name, start_worker, push_raw, caplog
):
    @taskq.actor(queue_name=queue_name)
    def ok():
        pass

    caplog.set_level(logging.ERROR, logger="taskq.brokers")
    push_raw(any_broker, queue_name, b"\xff not json")
    start_worker(any_broker)
    wait_for(lambda: any_broker.dead_letter_messages(queue_name), message="dead letter")

    def undecodable() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "undecodable" in r.getMessage()]

    records = wait_for(undecodable, message="the undecodable message logged")
    assert [(r.name, r.levelname) for r in records] == [(f"taskq.brokers.{broker_kind}", "ERROR")]
    assert queue_name in records[0].getMessage()


def test_sqlite_keeps_dead_letters_dead_letter_ttl_ms(tmp_path, queue_name):
    from taskq.brokers.sqlite import SQLiteBroker

    broker = SQLiteBroker(path=tmp_path / "ttl.db", dead_letter_ttl=1)
    try:
        broker.declare_queue(queue_name)
        for i in range(2):
            broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="a", args=(i,)))
        consumer = broker.consume(queue_name, prefetch=2, timeout=1000)
        first = next(consumer)
        consumer.nack(first)
        assert len(broker.dead_letter_messages(queue_name)) == 1
        second = wait_for(lambda: next(consumer), message="second message")
        # Recording a dead letter drops those older than dead_letter_ttl (1 ms): the first.
        dead_at = broker.dead_letter_messages(queue_name)[0].dead_at
        wait_for(lambda: current_millis() > dead_at + 1, message="the first letter too old")
        consumer.nack(second)
        assert [d.message_id for d in broker.dead_letter_messages(queue_name)] == [
            second.message_id
        ]
        consumer.close()
    finally:
        broker.close()
