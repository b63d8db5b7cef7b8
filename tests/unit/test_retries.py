"""Retries: max_retries, backoff bounds, retry_when, throws, taskq.Retry, exhaustion."""

from __future__ import annotations

import logging
import threading

import pytest

import taskq
from taskq.results import ResultFailure

from ..helpers import wait_for


@pytest.fixture
def broker(make_stub_broker, recorder):
    return make_stub_broker(recorder)


def failing_actor(queue_name, attempts, fail_times=None, exception=ValueError, **options):
    lock = threading.Lock()

    @taskq.actor(queue_name=queue_name, min_backoff=10, max_backoff=40, **options)
    def flaky():
        with lock:
            attempts.append(1)
            count = len(attempts)
        if fail_times is None or count <= fail_times:
            raise exception(f"attempt {count}")
        return count

    return flaky


def test_a_failing_message_is_retried_until_it_succeeds(broker, queue_name, start_worker):
    attempts = []
    flaky = failing_actor(queue_name, attempts, fail_times=2, store_results=True)
    start_worker(broker)
    assert flaky.send().get_result(block=True, timeout=10_000) == 3
    assert broker.dead_letters == []


def test_retry_exhaustion_dead_letters_the_message(broker, queue_name, start_worker):
    attempts = []
    flaky = failing_actor(queue_name, attempts, max_retries=2)
    message = flaky.send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert len(attempts) == 3
    (letter,) = broker.dead_letter_messages(queue_name)
    assert letter.message_id == message.message_id
    assert "retries exhausted" in letter.reason and "ValueError" in letter.reason
    assert letter.message.options["retries"] == 3  # failed attempts, as in Dramatiq


def test_exhausted_results_raise_result_failure_with_the_original_error(
    broker, queue_name, start_worker
):
    flaky = failing_actor(queue_name, [], max_retries=0, store_results=True)
    start_worker(broker)
    with pytest.raises(ResultFailure) as info:
        flaky.send().get_result(block=True, timeout=10_000)
    assert (info.value.orig_exc_type, info.value.orig_exc_msg) == ("ValueError", "attempt 1")


def test_backoff_stays_between_min_and_max(broker, recorder, queue_name, start_worker):
    attempts = []
    failing_actor(queue_name, attempts, max_retries=4).send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    delays = [delay for name, delay in recorder.enqueued if delay]
    assert len(delays) == 4
    assert all(5 <= delay <= 40 for delay in delays), delays


def test_max_retries_sent_with_the_message_overrides_the_actor(broker, queue_name, start_worker):
    attempts = []
    failing_actor(queue_name, attempts, max_retries=5).send_with_options(max_retries=1)
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert len(attempts) == 2


def test_retry_when_decides(broker, queue_name, start_worker):
    attempts = []
    seen = []

    def retry_when(retries, exception):
        seen.append((retries, type(exception).__name__))
        return retries < 1

    failing_actor(queue_name, attempts, retry_when=retry_when, max_retries=100).send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert seen == [(0, "ValueError"), (1, "ValueError")]
    assert len(attempts) == 2


def test_throws_are_never_retried(broker, queue_name, start_worker):
    attempts = []
    failing_actor(queue_name, attempts, exception=KeyError, throws=(KeyError,)).send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert len(attempts) == 1
    assert "KeyError" in broker.dead_letter_messages(queue_name)[0].reason


def test_raising_retry_retries_with_its_delay(broker, recorder, queue_name, start_worker):
    attempts = []

    @taskq.actor(queue_name=queue_name, store_results=True)
    def polls():
        attempts.append(1)
        if len(attempts) < 2:
            raise taskq.Retry("not ready yet", delay=25)
        return "ready"

    start_worker(broker)
    assert polls.send().get_result(block=True, timeout=10_000) == "ready"
    assert ("polls", 25) in recorder.enqueued


def test_the_retries_middleware_defaults_apply(make_stub_broker, queue_name, start_worker):
    from taskq.brokers.stub import StubBroker
    from taskq.middleware import Retries

    broker = StubBroker(middleware=[Retries(max_retries=1, min_backoff=5, max_backoff=10)])
    taskq.set_broker(broker)
    attempts = []

    @taskq.actor(queue_name=queue_name)
    def always_fails():
        attempts.append(1)
        raise RuntimeError("no")

    always_fails.send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert len(attempts) == 2


def test_on_retry_exhausted_gets_the_message_once_retries_run_out(broker, queue_name, start_worker):
    exhausted = []

    @taskq.actor(queue_name=queue_name)
    def gave_up(message_data, retry_info):
        exhausted.append((message_data["actor_name"], retry_info))

    attempts = []
    failing_actor(queue_name, attempts, max_retries=2, on_retry_exhausted="gave_up").send()
    start_worker(broker)
    wait_for(lambda: exhausted, message="the on_retry_exhausted actor")
    broker.join(queue_name, timeout=10_000)
    assert len(attempts) == 3
    assert exhausted == [("flaky", {"retries": 2, "max_retries": 2})]


def test_on_retry_exhausted_is_not_sent_when_a_retry_succeeds(broker, queue_name, start_worker):
    exhausted = []

    @taskq.actor(queue_name=queue_name)
    def gave_up(message_data, retry_info):
        exhausted.append(retry_info)

    flaky = failing_actor(queue_name, [], fail_times=1, max_retries=2, store_results=True)
    start_worker(broker)
    message = flaky.send_with_options(on_retry_exhausted=gave_up.actor_name)
    assert message.get_result(block=True, timeout=10_000) == 2
    broker.join(queue_name, timeout=10_000)
    assert exhausted == []


def test_a_retry_records_when_it_was_requeued(broker, queue_name, start_worker):
    from taskq.common import current_millis
    from taskq.middleware import CurrentMessage

    broker.add_middleware(CurrentMessage())
    stamps = []

    @taskq.actor(queue_name=queue_name, max_retries=2, min_backoff=5, max_backoff=10)
    def fails():
        stamps.append(CurrentMessage.get_current_message().options.get("requeue_timestamp"))
        raise RuntimeError("again")

    sent_at = current_millis()
    fails.send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    assert stamps[0] is None
    assert sent_at <= stamps[1] <= stamps[2]


def test_a_zero_max_backoff_retries_at_once(broker, queue_name, start_worker):
    attempts = []
    failing_actor(queue_name, attempts, max_retries=3).send_with_options(
        min_backoff=10_000, max_backoff=0
    )
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, timeout=5, message="four attempts without backoff")
    assert len(attempts) == 4


def test_retry_and_expected_exceptions_are_not_logged_as_errors(
    broker, queue_name, start_worker, caplog
):
    caplog.set_level(logging.INFO)

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def asks_again():
        raise taskq.Retry("later")

    @taskq.actor(queue_name=queue_name, throws=(KeyError,))
    def expected():
        raise KeyError("known")

    start_worker(broker)
    asks_again.send()
    expected.send()
    wait_for(lambda: len(broker.dead_letters) == 2, message="both dead-lettered")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("with expected exception KeyError" in m for m in infos)


def test_an_unexpected_exception_is_logged_as_an_error(broker, queue_name, start_worker, caplog):
    failing_actor(queue_name, [], max_retries=0).send()
    start_worker(broker)
    wait_for(lambda: broker.dead_letters, message="a dead letter")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["Failed to process message flaky() with unhandled exception."]
