"""Pipelines and groups, including a group as a pipeline step (fan-out, fan-in)."""

from __future__ import annotations

import pytest

import taskq
from taskq.middleware import GroupCallbacks
from taskq.rate_limits.backends import StubBackend as RateLimiterBackend
from taskq.results import ResultFailure, ResultMissing, ResultTimeout

from ..helpers import wait_for


@pytest.fixture
def broker(make_stub_broker):
    return make_stub_broker(GroupCallbacks(RateLimiterBackend()))


@pytest.fixture
def actors(broker, queue_name):
    @taskq.actor(queue_name=queue_name, store_results=True)
    def add(x, y):
        return x + y

    @taskq.actor(queue_name=queue_name, store_results=True)
    def double(x):
        return 2 * x

    @taskq.actor(queue_name=queue_name, store_results=True)
    def total(values):
        return sum(values)

    @taskq.actor(queue_name=queue_name, store_results=True)
    def hello(*args):
        return f"hello {args}"

    return add, double, total, hello


def test_a_pipeline_passes_each_result_to_the_next_step(broker, actors, start_worker):
    add, double, _, _ = actors
    chain = add.message(1, 2) | double.message() | double.message()
    start_worker(broker)
    chain.run()
    assert chain.get_result(block=True, timeout=10_000) == 12
    assert list(chain.get_results()) == [3, 6, 12]
    assert chain.completed and chain.completed_count == 3


def test_pipe_ignore_drops_the_previous_result(broker, actors, start_worker):
    add, _, _, hello = actors
    chain = taskq.pipeline(
        [add.message(1, 2), hello.message_with_options(args=("x",), pipe_ignore=True)]
    )
    start_worker(broker)
    chain.run()
    assert chain.get_result(block=True, timeout=10_000) == "hello ('x',)"


def test_pipe_ignore_as_an_actor_option(broker, queue_name, actors, start_worker):
    add, _, _, _ = actors

    @taskq.actor(queue_name=queue_name, store_results=True, pipe_ignore=True)
    def fixed():
        return "fixed"

    chain = add.message(1, 2) | fixed.message()
    start_worker(broker)
    chain.run()
    assert chain.get_result(block=True, timeout=10_000) == "fixed"


def test_a_failing_step_stops_the_pipeline(broker, queue_name, actors, start_worker):
    _, double, _, _ = actors

    @taskq.actor(queue_name=queue_name, store_results=True, max_retries=0)
    def broken(x):
        raise ValueError(x)

    chain = double.message(1) | broken.message() | double.message()
    start_worker(broker)
    chain.run()
    broker.join(queue_name, timeout=10_000)
    results = chain.get_results()
    assert next(results) == 2
    with pytest.raises(ResultFailure, match="ValueError"):
        next(results)
    with pytest.raises(ResultMissing):
        chain.steps[-1].get_result()


def test_pipeline_rejects_things_that_are_not_messages(broker):
    with pytest.raises(TypeError, match="pipeline"):
        taskq.pipeline([1])
    with pytest.raises(ValueError, match="at least one"):
        taskq.pipeline([])


def test_a_group_runs_its_members_and_collects_results_in_order(broker, actors, start_worker):
    _, double, _, _ = actors
    members = taskq.group([double.message(i) for i in range(6)])
    start_worker(broker)
    members.run()
    members.wait(timeout=10_000)
    assert list(members.get_results()) == [0, 2, 4, 6, 8, 10]
    assert members.completed_count == 6 and members.completed


def test_group_completed_count_counts_finished_members(broker, actors):
    _, double, _, _ = actors
    members = taskq.group([double.message(i) for i in range(3)]).run()
    assert members.completed_count == 0
    with pytest.raises(ResultTimeout):
        members.wait(timeout=50)


def test_group_completion_callback_runs_once_after_every_member(
    broker, queue_name, actors, start_worker
):
    _, double, _, _ = actors
    done = []

    @taskq.actor(queue_name=queue_name)
    def finished(tag):
        done.append(tag)

    members = taskq.group([double.message(i) for i in range(5)])
    members.add_completion_callback(finished.message("all done"))
    start_worker(broker)
    members.run()
    members.wait(timeout=10_000)
    broker.join(queue_name, timeout=10_000)
    assert done == ["all done"]


def test_completion_callbacks_need_the_group_callbacks_middleware(make_stub_broker, queue_name):
    make_stub_broker()

    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    members = taskq.group([work.message()])
    members.add_completion_callback(work.message())
    with pytest.raises(RuntimeError, match="GroupCallbacks"):
        members.run()


def test_a_group_inside_a_pipeline_fans_out_then_in(broker, actors, start_worker):
    add, double, total, _ = actors
    chain = taskq.pipeline(
        [add.message(1, 2), taskq.group([double.message(), double.message()]), total.message()]
    )
    start_worker(broker)
    chain.run()
    assert chain.get_result(block=True, timeout=10_000) == 12
    assert list(chain.get_results(block=True, timeout=10_000)) == [3, [6, 6], 12]


def test_a_pipeline_may_start_with_a_group(broker, actors, start_worker):
    _, double, total, _ = actors
    chain = taskq.group([double.message(1), double.message(2)]) | total.message()
    start_worker(broker)
    chain.run()
    assert chain.get_result(block=True, timeout=10_000) == 6


def test_a_group_of_pipelines(broker, actors, start_worker):
    add, double, _, _ = actors
    members = taskq.group([add.message(1, 1) | double.message(), add.message(2, 2)])
    start_worker(broker)
    members.run()
    wait_for(lambda: members.completed, message="both members")
    assert list(members.get_results()) == [4, 4]


def test_a_group_runs_inner_groups_and_returns_their_results(broker, actors, start_worker):
    add, double, total, hello = actors
    outer = taskq.group(taskq.group(double.message(i) for i in range(2)) for _ in range(3))
    start_worker(broker)
    outer.run()
    assert list(outer.get_results(block=True, timeout=10_000)) == [[0, 2]] * 3
    assert outer.completed


def test_inner_groups_cannot_take_completion_callbacks_or_be_pipeline_steps(broker, actors):
    add, double, total, hello = actors
    nested = taskq.group([taskq.group([double.message(1)])])
    nested.add_completion_callback(double.message(2))
    with pytest.raises(NotImplementedError):
        nested.run()
    with pytest.raises(NotImplementedError):
        taskq.pipeline([double.message(1), taskq.group([taskq.group([double.message(2)])])])


def test_a_delayed_first_step_delays_the_whole_pipeline(broker, actors, start_worker):
    add, double, total, hello = actors
    pipe = add.message_with_options(args=(1, 2), delay=10_000) | double.message()
    start_worker(broker)
    pipe.run()
    with pytest.raises(ResultTimeout):
        pipe.get_result(block=True, timeout=300)
