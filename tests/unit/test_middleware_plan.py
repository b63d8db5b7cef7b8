"""Workers skip the hooks of middleware that have nothing to do for a message, and only those."""

from __future__ import annotations

from typing import Any

import taskq
from taskq.middleware import AgeLimit, Callbacks, Middleware, Pipelines, Retries
from taskq.middleware.plan import is_quiet

from ..helpers import wait_for


class CountingAgeLimit(AgeLimit):
    """An AgeLimit whose subclass overrides the hook: it must always be called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def before_process_message(self, broker: Any, message: Any) -> None:
        self.calls += 1
        super().before_process_message(broker, message)


class Quiet(Middleware):
    """Quiet unless a message sets ``loud``; counts the hook calls it gets."""

    woken_by = frozenset({"loud"})
    message_options = frozenset({"loud"})

    def __init__(self) -> None:
        self.before = 0
        self.after: list[BaseException | None] = []

    def quiet_for(self, actor: Any) -> bool:
        return True

    def before_process_message(self, broker: Any, message: Any) -> None:
        self.before += 1

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self.after.append(exception)


def test_a_quiet_middleware_is_skipped_unless_a_message_wakes_it_or_fails(
    make_stub_broker, queue_name, start_worker
):
    quiet = Quiet()
    broker = make_stub_broker(quiet)
    done = []

    @taskq.actor(queue_name=queue_name, max_retries=0)
    def work(fail: bool) -> None:
        done.append(fail)
        if fail:
            raise ValueError("boom")

    work.send(False)
    work.send_with_options(args=(False,), loud=True)
    work.send(True)
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert sorted(done) == [False, False, True]
    # The loud message got both hooks; the plain failure got its after hook only.
    assert quiet.before == 1
    assert len(quiet.after) == 2
    assert sum(isinstance(e, ValueError) for e in quiet.after) == 1


def test_a_subclass_that_overrides_a_hook_is_always_called(
    make_stub_broker, queue_name, start_worker
):
    counting = CountingAgeLimit()
    broker = make_stub_broker()
    broker.middleware = [m for m in broker.middleware if not isinstance(m, AgeLimit)]
    broker.add_middleware(counting)

    @taskq.actor(queue_name=queue_name)
    def noop() -> None:
        pass

    for _ in range(3):
        noop.send()
    start_worker(broker)
    broker.join(queue_name, timeout=10_000)
    assert counting.calls == 3


def test_an_option_given_to_the_actor_later_takes_effect(
    make_stub_broker, queue_name, start_worker
):
    broker = make_stub_broker()
    results = []

    @taskq.actor(queue_name=queue_name)
    def report(message_data: Any, result: Any) -> None:
        results.append(result)

    @taskq.actor(queue_name=queue_name)
    def answer() -> int:
        return 42

    worker = start_worker(broker)
    answer.send()
    broker.join(queue_name, timeout=10_000)
    worker.join()
    assert results == []
    answer.options["on_success"] = "report"
    answer.send()
    wait_for(lambda: results, message="the success callback")
    assert results == [42]


def test_which_built_in_middleware_are_quiet():
    broker = taskq.brokers.stub.StubBroker()

    @taskq.actor(broker=broker)
    def plain() -> None:
        pass

    @taskq.actor(broker=broker, max_age=1000, on_success="plain", notify_shutdown=True)
    def watched() -> None:
        pass

    quiet = {type(m).__name__ for m in broker.middleware if is_quiet(m, plain)}
    assert quiet == {"AgeLimit", "ShutdownNotifications", "Callbacks", "Pipelines", "Retries"}
    quiet = {type(m).__name__ for m in broker.middleware if is_quiet(m, watched)}
    assert quiet == {"Pipelines", "Retries"}
    assert not is_quiet(AgeLimit(max_age=5), plain)
    assert all(is_quiet(m(), plain) for m in (Callbacks, Pipelines, Retries))
