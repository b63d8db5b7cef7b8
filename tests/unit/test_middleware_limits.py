"""AgeLimit, TimeLimit and ShutdownNotifications."""

from __future__ import annotations

import logging
import threading
import time

import taskq
from taskq.middleware import Shutdown, TimeLimitExceeded

from ..helpers import wait_for


def test_age_limit_skips_and_dead_letters_old_messages(
    make_stub_broker, recorder, queue_name, start_worker
):
    broker = make_stub_broker(recorder)
    ran = []

    @taskq.actor(queue_name=queue_name, max_age=60_000)
    def work(tag):
        ran.append(tag)

    stale = work.message("stale").copy(message_timestamp=taskq.common.current_millis() - 120_000)
    broker.enqueue(stale)
    work.send("fresh")
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == ["fresh"]
    assert [mid for mid, _ in recorder.skipped] == [stale.message_id]
    (letter,) = broker.dead_letter_messages(queue_name)
    assert letter.message_id == stale.message_id
    assert "max_age" in letter.reason


def test_age_limit_per_message_option_overrides_the_actor(
    make_stub_broker, queue_name, start_worker
):
    broker = make_stub_broker()
    ran = []

    @taskq.actor(queue_name=queue_name)
    def work():
        ran.append(1)

    message = work.message_with_options(max_age=1000)
    broker.enqueue(message.copy(message_timestamp=message.message_timestamp - 5000))
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert ran == []
    assert len(broker.dead_letters) == 1


def test_time_limit_interrupts_a_busy_loop(make_stub_broker, queue_name, start_worker):
    broker = make_stub_broker()
    outcome = []

    @taskq.actor(queue_name=queue_name, time_limit=100, max_retries=0)
    def spin():
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                pass
        except TimeLimitExceeded:
            outcome.append("interrupted")
            raise
        outcome.append("finished")

    spin.send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="the message dead-lettered")
    assert outcome == ["interrupted"]
    assert "TimeLimitExceeded" in broker.dead_letter_messages(queue_name)[0].reason


def test_time_limit_interrupts_a_sleeping_loop(make_stub_broker, queue_name, start_worker):
    broker = make_stub_broker()
    outcome = []

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def nap():
        try:
            for _ in range(2000):
                time.sleep(0.01)
        except TimeLimitExceeded:
            outcome.append("interrupted")
            raise
        outcome.append("finished")

    nap.send_with_options(time_limit=100)
    start_worker(broker)
    wait_for(lambda: outcome, message="the actor to end")
    assert outcome == ["interrupted"]


def test_time_limit_holds_for_a_message_started_after_a_quiet_spell(
    make_stub_broker, queue_name, start_worker, monkeypatch
):
    from taskq.middleware import time_limit

    monkeypatch.setattr(time_limit, "QUIET_AFTER", 0.2)
    broker = make_stub_broker()
    watcher = next(m for m in broker.middleware if isinstance(m, time_limit.TimeLimit))
    outcome = []

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def nap(seconds):
        try:
            for _ in range(int(seconds * 100)):
                time.sleep(0.01)
        except TimeLimitExceeded:
            outcome.append("interrupted")
            raise
        outcome.append("finished")

    start_worker(broker)
    nap.send(0)
    wait_for(lambda: outcome == ["finished"], message="the first message")
    # Quiet for longer than QUIET_AFTER: the watcher sleeps until a message starts.
    wait_for(lambda: watcher._next_check == float("inf"), message="the watcher to go quiet")
    nap.send_with_options(args=(20,), time_limit=1500)  # longer than one check interval
    wait_for(lambda: len(outcome) == 2, timeout=10, message="the second message to end")
    assert outcome == ["finished", "interrupted"]


def test_actors_within_their_time_limit_are_left_alone(make_stub_broker, queue_name, start_worker):
    broker = make_stub_broker()

    @taskq.actor(queue_name=queue_name, time_limit=10_000, store_results=True)
    def quick():
        time.sleep(0.05)
        return "ok"

    start_worker(broker)
    assert quick.send().get_result(block=True, timeout=10_000) == "ok"


def test_shutdown_notifications_raise_shutdown_in_opted_in_actors(make_stub_broker, queue_name):
    broker = make_stub_broker()
    started = threading.Event()
    outcome = []

    @taskq.actor(queue_name=queue_name, notify_shutdown=True, max_retries=0)
    def long_job():
        started.set()
        try:
            for _ in range(2000):
                time.sleep(0.01)
        except Shutdown:
            outcome.append("shutdown")
            raise
        outcome.append("finished")

    worker = taskq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        long_job.send()
        assert started.wait(10)
    finally:
        worker.stop(timeout=10_000)
    assert outcome == ["shutdown"]


def test_actors_without_notify_shutdown_finish_their_work(make_stub_broker, queue_name):
    broker = make_stub_broker()
    started = threading.Event()
    outcome = []

    @taskq.actor(queue_name=queue_name)
    def short_job():
        started.set()
        try:
            for _ in range(20):
                time.sleep(0.01)
        except Shutdown:
            outcome.append("shutdown")
            raise
        outcome.append("finished")

    worker = taskq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        short_job.send()
        assert started.wait(10)
    finally:
        worker.stop(timeout=10_000)
    assert outcome == ["finished"]


def test_interrupts_land_in_worker_threads_only_inside_actor_code():
    from taskq.threading import interruptible, raise_thread_exception, worker_thread_guard

    ready, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def worker_busy_outside_an_actor() -> None:
        with worker_thread_guard():
            ready.set()
            while not release.is_set():
                pass  # Python bytecode: an interrupt would land here if it were allowed to
            outcome.append("outside: finished")

    def worker_busy_inside_an_actor() -> None:
        with worker_thread_guard():
            try:
                with interruptible():
                    ready.set()
                    while True:
                        pass
            except TimeLimitExceeded:
                outcome.append("inside: interrupted")

    outside = threading.Thread(target=worker_busy_outside_an_actor)
    outside.start()
    assert ready.wait(5)
    assert raise_thread_exception(outside.ident, TimeLimitExceeded) is False
    release.set()
    outside.join(5)

    ready.clear()
    inside = threading.Thread(target=worker_busy_inside_an_actor)
    inside.start()
    assert ready.wait(5)
    assert raise_thread_exception(inside.ident, TimeLimitExceeded) is True
    inside.join(5)
    assert outcome == ["outside: finished", "inside: interrupted"]


def test_raise_thread_exception_reaches_any_other_thread_as_in_dramatiq():
    from taskq.threading import Interrupt, raise_thread_exception

    ready = threading.Event()
    caught: list[type[BaseException]] = []

    def plain_thread() -> None:
        try:
            ready.set()
            for _ in range(200):
                time.sleep(0.01)
        except Interrupt as e:
            caught.append(type(e))

    thread = threading.Thread(target=plain_thread)
    thread.start()
    assert ready.wait(5)
    assert raise_thread_exception(thread.ident, Interrupt) is True
    thread.join(5)
    assert caught == [Interrupt]


def test_raise_thread_exception_logs_a_missing_thread(caplog):
    from taskq.threading import Interrupt, raise_thread_exception

    assert raise_thread_exception(2**31 - 1, Interrupt) is False
    assert caplog.record_tuples == [
        (
            "taskq.threading",
            logging.CRITICAL,
            f"Failed to set exception (Interrupt) in thread {2**31 - 1}.",
        )
    ]


def test_time_limit_raises_once_and_reports_a_thread_stuck_past_it_once(caplog):
    from taskq.middleware.time_limit import TimeLimit

    limit = TimeLimit()
    thread_id = 2**40  # no such thread: the raise itself is logged as failed, and that is all
    limit.running[thread_id] = (100.0, "stuck")
    with caplog.at_level(logging.WARNING, logger="taskq.middleware.time_limit"):
        for now in (99.0, 101.0, 102.0, 106.0, 107.0):
            limit._interrupt_expired(now)
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("time_limit")]
    assert messages == [
        "Time limit exceeded. Raising in thread of message stuck.",
        "Message stuck ignored its time limit for 6 s: the thread is likely blocked in C code.",
    ]
    del limit.running[thread_id]  # the message finished at last
    limit._interrupt_expired(108.0)
    assert limit._raised == {}
