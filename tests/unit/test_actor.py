"""Actors: send, options validated against the middleware, direct calls, names."""

from __future__ import annotations

import asyncio

import pytest

import taskq
from taskq.brokers.stub import StubBroker
from taskq.common import current_millis


def test_send_enqueues_a_message_for_the_actor(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def add(x, y):
        return x + y

    message = add.send(1, y=2)
    assert (message.queue_name, message.actor_name) == (queue_name, "add")
    assert (message.args, message.kwargs) == ((1,), {"y": 2})
    assert stub_broker.queue_stats()[queue_name]["ready"] == 1


def test_send_with_options_delay_puts_the_message_on_the_delay_queue(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def later():
        pass

    before = current_millis()
    message = later.send_with_options(delay=60_000, max_retries=1)
    assert message.queue_name == f"{queue_name}.DQ"
    assert before + 60_000 <= message.options["eta"] <= current_millis() + 60_000
    assert message.options["max_retries"] == 1
    stats = stub_broker.queue_stats()[queue_name]
    assert (stats["ready"], stats["delayed"]) == (0, 1)


@pytest.mark.parametrize("delay", [-1, "10"])
def test_send_with_options_rejects_a_bad_delay(stub_broker, queue_name, delay):
    @taskq.actor(queue_name=queue_name)
    def later():
        pass

    with pytest.raises(ValueError, match="delay"):
        later.send_with_options(delay=delay)


def test_message_with_options_builds_without_sending(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def work(x):
        pass

    message = work.message_with_options(args=(1,), kwargs={}, time_limit=500)
    assert message.options == {"time_limit": 500}
    assert stub_broker.queue_stats()[queue_name]["ready"] == 0


def test_send_with_options_takes_a_timedelta_delay(stub_broker, queue_name):
    from datetime import timedelta

    @taskq.actor(queue_name=queue_name)
    def later():
        pass

    before = current_millis()
    message = later.send_with_options(delay=timedelta(seconds=2))
    assert before + 2_000 <= message.options["eta"] <= current_millis() + 2_000


def test_message_with_options_keeps_a_delay_for_pipelines(stub_broker, queue_name):
    from datetime import timedelta

    @taskq.actor(queue_name=queue_name)
    def step(x=0):
        return x

    message = step.message_with_options(args=(1,), delay=timedelta(milliseconds=1500))
    assert message.options == {"delay": 1500}
    with pytest.raises(ValueError, match="delay"):
        step.message_with_options(delay=-5)


def test_a_pipeline_waits_for_the_delay_of_its_messages(stub_broker, queue_name, start_worker):
    ran = []

    @taskq.actor(queue_name=queue_name)
    def step(x=0):
        ran.append((x, current_millis()))
        return x + 1

    start_worker(stub_broker)
    sent_at = current_millis()
    (step.message_with_options(args=(1,), delay=200) | step.message_with_options(delay=200)).run()
    stub_broker.join(queue_name, timeout=10_000)
    assert [x for x, _ in ran] == [1, 2]
    assert ran[0][1] - sent_at >= 200
    assert ran[1][1] - ran[0][1] >= 200


def test_callbacks_must_be_actors_or_actor_names(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    with pytest.raises(TypeError, match="on_success"):
        work.message_with_options(on_success=print)


def test_calling_an_actor_runs_it_in_process(stub_broker):
    @taskq.actor
    def add(x, y):
        return x + y

    assert add(2, 3) == 5


def test_calling_an_async_actor_runs_it_to_completion(stub_broker):
    @taskq.actor
    async def slow_add(x, y):
        await asyncio.sleep(0.001)
        return x + y

    assert slow_add(2, 3) == 5


def test_async_actors_run_in_the_worker(stub_broker, queue_name, start_worker):
    @taskq.actor(queue_name=queue_name, store_results=True)
    async def double(x):
        await asyncio.sleep(0.001)
        return 2 * x

    start_worker(stub_broker)
    assert double.send(21).get_result(block=True, timeout=10_000) == 42


def test_an_unknown_option_is_rejected_at_definition(stub_broker):
    with pytest.raises(ValueError, match="max_retires"):

        @taskq.actor(max_retires=3)
        def typo():
            pass


def test_an_unknown_option_is_rejected_at_send_time(stub_broker):
    @taskq.actor
    def work():
        pass

    with pytest.raises(ValueError, match="no_such_option"):
        work.send_with_options(no_such_option=True)
    with pytest.raises(ValueError, match="no_such_option"):
        work.message_with_options(no_such_option=True)


def test_options_of_opt_in_middleware_need_that_middleware():
    broker = StubBroker()
    with pytest.raises(ValueError, match="store_results"):

        @taskq.actor(broker=broker, store_results=True)
        def work():
            pass


@pytest.mark.parametrize("name", ["", "has space", "1starts-with-digit", "q.DQ", "q.XQ", "é"])
def test_invalid_queue_names_are_rejected(stub_broker, name):
    with pytest.raises(ValueError, match="Queue name"):

        @taskq.actor(queue_name=name)
        def work():
            pass


@pytest.mark.parametrize("name", ["has space", "9lives", "a/b"])
def test_invalid_actor_names_are_rejected(stub_broker, name):
    with pytest.raises(ValueError, match="Actor name"):

        @taskq.actor(actor_name=name)
        def work():
            pass


def test_two_different_functions_cannot_share_an_actor_name(stub_broker):
    @taskq.actor(actor_name="shared")
    def first():
        pass

    with pytest.raises(ValueError, match="shared") as info:

        @taskq.actor(actor_name="shared")
        def second():
            pass

    assert str(info.value) == "An actor named 'shared' is already registered."
    assert "first" in info.value.__notes__[0]


def test_priority_must_be_an_int(stub_broker):
    with pytest.raises(TypeError, match="priority"):

        @taskq.actor(priority="high")
        def work():
            pass


def test_actors_on_different_brokers_are_independent(stub_broker):
    other = StubBroker()

    @taskq.actor(broker=other, queue_name="elsewhere")
    def work():
        pass

    assert "work" in other.get_declared_actors()
    assert "work" not in stub_broker.get_declared_actors()
    assert work.send().queue_name == "elsewhere"
