"""The behaviour every broker shares, run against each one (stub, sqlite, redis, rabbitmq)."""

from __future__ import annotations

import threading

import pytest

import taskq
from taskq.common import current_millis

from ...helpers import wait_for


def test_sent_messages_run_with_their_arguments(any_broker, queue_name, start_worker):
    seen = []

    @taskq.actor(queue_name=queue_name)
    def record(x, *, y):
        seen.append((x, y))

    for i in range(20):
        record.send(i, y=str(i))
    start_worker(any_broker)
    wait_for(lambda: len(seen) == 20, message="20 messages processed")
    assert sorted(seen) == [(i, str(i)) for i in range(20)]


def test_results_round_trip(any_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def add(x, y):
        return x + y

    start_worker(any_broker)
    message = add.send(2, 3)
    assert message.get_result(block=True, timeout=10_000) == 5


def test_enqueue_many_sends_every_message(any_broker, queue_name, start_worker):
    seen = set()

    @taskq.actor(queue_name=queue_name)
    def record(i):
        seen.add(i)

    sent = any_broker.enqueue_many([record.message(i) for i in range(50)])
    assert len(sent) == 50
    start_worker(any_broker)
    wait_for(lambda: len(seen) == 50, message="50 messages processed")


def test_delayed_message_waits_for_its_eta(any_broker, queue_name, start_worker):
    started = []

    @taskq.actor(queue_name=queue_name)
    def later():
        started.append(current_millis())

    start_worker(any_broker)
    sent_at = current_millis()
    later.send_with_options(delay=500)
    wait_for(lambda: started, message="delayed message processed")
    assert started[0] >= sent_at + 500


def test_retries_then_dead_letter_with_reason(any_broker, queue_name, start_worker):
    attempts = []

    @taskq.actor(queue_name=queue_name, max_retries=2, min_backoff=10, max_backoff=20)
    def flaky():
        attempts.append(1)
        raise RuntimeError("always broken")

    message = flaky.send()
    start_worker(any_broker)
    letters = wait_for(lambda: any_broker.dead_letter_messages(queue_name), message="dead letter")
    assert len(attempts) == 3
    assert letters[0].message_id == message.message_id
    assert "always broken" in (letters[0].reason or "")
    assert any_broker.queue_stats()[queue_name]["dead"] == 1


def test_requeue_and_purge_dead_letters(any_broker, queue_name, start_worker):
    fail = threading.Event()
    fail.set()
    done = []

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def sometimes():
        if fail.is_set():
            raise RuntimeError("not yet")
        done.append(1)

    first, second = sometimes.send(), sometimes.send()
    start_worker(any_broker)
    wait_for(
        lambda: len(any_broker.dead_letter_messages(queue_name)) == 2, message="2 dead letters"
    )
    fail.clear()
    assert any_broker.requeue_dead_letters(queue_name, [first.message_id]) == 1
    wait_for(lambda: done, message="requeued message processed")
    remaining = any_broker.dead_letter_messages(queue_name)
    assert [d.message_id for d in remaining] == [second.message_id]
    assert any_broker.purge_dead_letters(queue_name) == 1
    assert any_broker.dead_letter_messages(queue_name) == []


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"\xff\xfe not json", "JSON"),
        (b'{"queue_name": "x"}', "actor_name"),
        (b'["a", "list"]', "object"),
    ],
)
def test_malformed_payload_is_dead_lettered_and_worker_carries_on(
    any_broker, queue_name, start_worker, push_raw, payload, reason
):
    seen = []

    @taskq.actor(queue_name=queue_name)
    def ok(i):
        seen.append(i)

    ok.send(1)
    push_raw(any_broker, queue_name, payload)
    ok.send(2)
    start_worker(any_broker)
    wait_for(lambda: sorted(seen) == [1, 2], message="good messages around the bad one")
    letters = wait_for(lambda: any_broker.dead_letter_messages(queue_name), message="dead letter")
    assert len(letters) == 1
    assert letters[0].message is None
    assert reason in letters[0].reason


def test_unknown_actor_is_dead_lettered(any_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name)
    def known():
        pass

    stranger = taskq.Message(queue_name=queue_name, actor_name="no_such_actor", args=(1,))
    any_broker.enqueue(stranger)
    start_worker(any_broker)
    letters = wait_for(lambda: any_broker.dead_letter_messages(queue_name), message="dead letter")
    assert letters[0].message_id == stranger.message_id
    assert "unknown actor" in letters[0].reason


def test_queue_stats_counts_ready_messages(any_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def idle():
        pass

    for _ in range(3):
        idle.send()
    idle.send_with_options(delay=60_000)
    stats = wait_for(
        lambda: (s := any_broker.queue_stats().get(queue_name)) and s["ready"] == 3 and s,
        message="3 ready messages",
    )
    assert stats["delayed"] == 1
    assert stats["in_flight"] == 0
    assert stats["dead"] == 0


def test_flush_drops_everything(any_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def idle():
        pass

    idle.send()
    idle.send_with_options(delay=60_000)
    any_broker.flush(queue_name)
    stats = any_broker.queue_stats()[queue_name]
    assert stats["ready"] == 0 and stats["delayed"] == 0


def test_stop_requeues_prefetched_messages(any_broker, queue_name, start_worker):
    release = threading.Event()
    started = []

    @taskq.actor(queue_name=queue_name)
    def slow(i):
        started.append(i)
        release.wait(10)

    class ShutdownSignal(taskq.Middleware):
        began = threading.Event()

        def before_worker_shutdown(self, broker, worker):
            self.began.set()

    any_broker.add_middleware(ShutdownSignal())
    for i in range(6):
        slow.send(i)
    worker = taskq.Worker(any_broker, worker_threads=1, worker_timeout=100, prefetch=3)
    worker.start()
    wait_for(lambda: started, message="first message started")
    stopper = threading.Thread(target=worker.stop, kwargs={"timeout": 10_000})
    stopper.start()
    assert ShutdownSignal.began.wait(10)
    release.set()
    stopper.join(20)
    assert len(started) == 1
    wait_for(
        lambda: any_broker.queue_stats()[queue_name]["ready"] == 5,
        message="5 unstarted messages back in the queue",
    )
    start_worker(any_broker)
    wait_for(lambda: sorted(set(started)) == list(range(6)), message="all 6 processed")


def test_pipeline_and_group_across_the_broker(any_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def add(x, y=0):
        return x + y

    @taskq.actor(queue_name=queue_name, store_results=True)
    def total(values):
        return sum(values)

    start_worker(any_broker)
    chain = (add.message(1, 2) | add.message(10)).run()
    assert chain.get_result(block=True, timeout=10_000) == 13
    fan = taskq.pipeline(
        [add.message(1), taskq.group([add.message(10), add.message(20)]), total.message()]
    ).run()
    assert fan.get_result(block=True, timeout=10_000) == 32
