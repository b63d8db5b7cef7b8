"""Dramatiq's public modules and names exist in taskq under the same paths, with its meaning."""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time

import pytest

import taskq
from taskq.brokers.stub import StubBroker

#: Every public module of Dramatiq 2.2 that a program imports, and names it expects there.
DRAMATIQ_NAMES = {
    "taskq": [
        "Actor", "GenericActor", "actor", "Broker", "Consumer", "MessageProxy", "get_broker",
        "set_broker", "group", "pipeline", "Encoder", "JSONEncoder", "PickleEncoder",
        "DramatiqError", "BrokerError", "DecodeError", "ActorNotFound", "QueueNotFound",
        "QueueJoinTimeout", "BrokerConnectionError", "ConnectionClosed", "ConnectionFailed",
        "RateLimitExceeded", "Retry", "get_logger", "Message", "get_encoder", "set_encoder",
        "Middleware", "Worker", "ConsumerThread", "WorkerThread", "ConnectionError",
    ],
    "taskq.actor": ["Actor", "ActorDecorator", "actor"],
    "taskq.asyncio": [
        "EventLoopThread", "async_to_sync", "get_event_loop_thread", "set_event_loop_thread",
    ],
    "taskq.errors": ["DramatiqError", "BrokerConnectionError", "DecodeError", "Retry"],
    "taskq.generic": ["GenericActor", "generic_actor"],
    "taskq.logging": ["get_logger"],
    "taskq.message": ["Message", "get_encoder", "set_encoder"],
    "taskq.threading": [
        "Interrupt", "current_platform", "is_gevent_active", "raise_thread_exception",
        "supported_platforms",
    ],
    "taskq.worker": [
        "Worker", "ConsumerThread", "WorkerThread", "QUEUE_PREFETCH", "DELAY_QUEUE_PREFETCH",
        "WORKER_TIMEOUT", "CONSUMER_RESTART_DELAY", "CONSUMER_RESTART_DELAY_SECS",
    ],
    "taskq.middleware": [
        "Middleware", "MiddlewareError", "SkipMessage", "Interrupt", "raise_thread_exception",
        "AgeLimit", "AsyncIO", "Callbacks", "CurrentMessage", "GroupCallbacks", "Pipelines",
        "Retries", "Shutdown", "ShutdownNotifications", "TimeLimit", "TimeLimitExceeded",
        "default_middleware",
    ],
    "taskq.middleware.asyncio": ["AsyncIO", "EventLoopThread"],
    "taskq.middleware.threading": [
        "Interrupt", "current_platform", "is_gevent_active", "raise_thread_exception",
        "supported_platforms",
    ],
    "taskq.middleware.shutdown": [
        "Shutdown", "ShutdownNotifications", "current_platform", "supported_platforms",
        "raise_thread_exception",
    ],
    "taskq.middleware.time_limit": [
        "TimeLimit", "TimeLimitExceeded", "current_platform", "supported_platforms",
        "raise_thread_exception",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(DRAMATIQ_NAMES))
def test_dramatiq_names_exist_under_the_same_paths(module):
    imported = importlib.import_module(module)
    missing = [name for name in DRAMATIQ_NAMES[module] if not hasattr(imported, name)]
    assert missing == []


def test_dramatiq_error_is_taskqs_base_error():
    assert taskq.DramatiqError is taskq.TaskqError
    assert issubclass(taskq.ActorNotFound, taskq.DramatiqError)
    assert taskq.BrokerConnectionError is taskq.ConnectionError
    assert issubclass(taskq.ConnectionClosed, taskq.BrokerConnectionError)


def test_decode_error_takes_dramatiqs_cause_argument():
    cause = ValueError("bad byte")
    error = taskq.DecodeError("Failed to decode message.", b"x", cause)
    assert (error.data, error.error, error.field) == (b"x", cause, None)
    assert taskq.DecodeError("bad field", b"x", "args").field == "args"


def test_default_middleware_is_exactly_dramatiqs_stack():
    from taskq.middleware import default_middleware

    names = [m.__name__ for m in default_middleware]
    assert names == [
        "AgeLimit",
        "TimeLimit",
        "ShutdownNotifications",
        "Callbacks",
        "Pipelines",
        "Retries",
    ]
    assert [type(m).__name__ for m in StubBroker().middleware] == names


def test_get_logger_names_a_module_or_a_class_inside_it():
    class Thing:
        pass

    assert taskq.get_logger("app.jobs").name == "app.jobs"
    assert taskq.get_logger("app.jobs", Thing).name == "app.jobs.Thing"
    assert taskq.get_logger("app.jobs", "part").name == "app.jobs.part"


def test_an_actors_logger_is_named_after_its_module_and_name(stub_broker):
    @taskq.actor
    def add(x, y):
        return x + y

    assert add.logger.name == f"{__name__}.add"


def test_threading_constants_describe_this_interpreter():
    from taskq import threading as taskq_threading

    assert taskq_threading.current_platform == "CPython"
    assert taskq_threading.current_platform in taskq_threading.supported_platforms
    assert taskq_threading.is_gevent_active() is False
    assert issubclass(taskq_threading.Interrupt, BaseException)
    assert not issubclass(taskq_threading.Interrupt, Exception)


def test_raise_thread_exception_logs_an_unsupported_platform(monkeypatch, caplog):
    from taskq import threading as taskq_threading

    monkeypatch.setattr(taskq_threading, "current_platform", "Jython")
    assert taskq_threading.raise_thread_exception(1, taskq_threading.Interrupt) is False
    assert caplog.record_tuples == [
        (
            "taskq.threading",
            logging.CRITICAL,
            "Setting thread exceptions (Interrupt) is not supported for your current platform "
            "('Jython').",
        )
    ]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("taskq.middleware.time_limit", "TimeLimit"),
        ("taskq.middleware.shutdown", "ShutdownNotifications"),
    ],
)
def test_interrupting_middleware_warn_at_boot_on_an_unsupported_platform(monkeypatch, module, name):
    imported = importlib.import_module(module)
    monkeypatch.setattr(imported, "current_platform", "Jython")
    broker = StubBroker(middleware=[getattr(imported, name)()])
    with pytest.warns(RuntimeWarning, match=f"{name} cannot kill threads"):
        broker.emit_after("process_boot")


# -- taskq.asyncio ----------------------------------------------------------------------------
async def plus_one(value: int) -> int:
    await asyncio.sleep(0)
    return value + 1


def test_async_to_sync_needs_the_event_loop_thread():
    from taskq.asyncio import async_to_sync, set_event_loop_thread

    set_event_loop_thread(None)
    with pytest.raises(RuntimeError, match="AsyncIO middleware"):
        async_to_sync(plus_one)(1)


def test_event_loop_thread_runs_coroutines_for_async_to_sync():
    from taskq.asyncio import EventLoopThread, async_to_sync, set_event_loop_thread

    thread = EventLoopThread(logging.getLogger(__name__))
    thread.start(timeout=5)
    set_event_loop_thread(thread)
    try:
        assert async_to_sync(plus_one)(1) == 2
        assert thread.run_coroutine(plus_one(41)) == 42
        with pytest.raises(TimeoutError, match="inside"):
            thread.run_coroutine(_raise_timeout())
    finally:
        set_event_loop_thread(None)
        thread.stop()
    assert not thread.is_alive()
    coroutine = plus_one(1)
    with pytest.raises(RuntimeError, match="not running"):
        thread.run_coroutine(coroutine)
    coroutine.close()


async def _raise_timeout() -> None:
    raise TimeoutError("inside")


def test_an_interrupted_coroutine_is_cancelled_and_cleans_up():
    from taskq.asyncio import EventLoopThread
    from taskq.threading import Interrupt, raise_thread_exception

    thread = EventLoopThread(interrupt_check_ival=0.01)
    thread.start(timeout=5)
    cleaned, started = [], threading.Event()

    async def sleeper() -> None:
        try:
            started.set()
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    caller = threading.get_ident()
    interrupter = threading.Thread(
        target=lambda: started.wait(5) and raise_thread_exception(caller, Interrupt)
    )
    interrupter.start()
    try:
        with pytest.raises(Interrupt):
            thread.run_coroutine(sleeper())
    finally:
        interrupter.join(5)
        thread.stop()
    assert cleaned == [True]


def test_the_asyncio_middleware_sets_and_clears_the_global_loop_thread():
    from taskq.asyncio import get_event_loop_thread
    from taskq.middleware import AsyncIO

    middleware = AsyncIO()
    middleware.before_worker_boot(None, None)
    thread = get_event_loop_thread()
    try:
        assert thread is not None and thread.loop.is_running()
    finally:
        middleware.after_worker_shutdown(None, None)
    assert get_event_loop_thread() is None
    assert not thread.is_alive()


def test_async_actors_run_with_the_asyncio_middleware(stub_broker, queue_name, start_worker):
    from taskq.middleware import AsyncIO

    stub_broker.add_middleware(AsyncIO())
    seen = []

    @taskq.actor(queue_name=queue_name)
    async def record(x):
        seen.append(await plus_one(x))

    start_worker(stub_broker)
    record.send(1)
    stub_broker.join(queue_name, timeout=10_000)
    assert seen == [2]


# -- GenericActor -----------------------------------------------------------------------------
def test_a_generic_actor_is_an_actor_made_from_a_class(stub_broker, queue_name, start_worker):
    seen = []
    queue = "generic_" + queue_name

    class Resize(taskq.GenericActor):
        class Meta:
            queue_name = queue
            max_retries = 3

        def perform(self, path, width):
            seen.append((path, width))
            return width

    assert isinstance(Resize.__actor__, taskq.Actor)
    assert Resize.actor_name == "Resize"
    assert Resize.queue_name == queue
    assert Resize.options == {"max_retries": 3}
    assert Resize("a.png", 10) == 10
    start_worker(stub_broker)
    Resize.send("b.png", 20)
    stub_broker.join(Resize.queue_name, timeout=10_000)
    assert seen == [("a.png", 10), ("b.png", 20)]


def test_abstract_generic_actors_pass_their_meta_to_subclasses(stub_broker):
    class Base(taskq.GenericActor):
        class Meta:
            abstract = True
            queue_name = "tasks"

        def perform(self):
            return self.name()

    class Foo(Base):
        def name(self):
            return "foo"

    assert not isinstance(Base, taskq.GenericActor)
    assert Foo.queue_name == "tasks"
    assert Foo() == "foo"
    with pytest.raises(AttributeError):
        taskq.GenericActor.missing  # noqa: B018


def test_a_generic_actor_without_perform_raises_not_implemented(stub_broker):
    class Lazy(taskq.GenericActor):
        pass

    with pytest.raises(NotImplementedError, match=r"Lazy does not implement perform\(\)"):
        Lazy(1)


def test_a_generic_actor_can_be_declared_by_another_decorator(stub_broker):
    declared = []

    def register(fn, **options):
        declared.append((fn, options))
        return "declared"

    class Custom(taskq.GenericActor):
        class Meta:
            actor = register
            priority = 5

        def perform(self):
            pass

    assert Custom.__actor__ == "declared"
    assert declared == [(Custom, {"priority": 5})]


# -- Worker: Dramatiq's thread API ------------------------------------------------------------
def test_worker_threads_pause_one_by_one(stub_broker, queue_name, start_worker):
    ran = []
    worker = start_worker(stub_broker, worker_threads=2)
    worker.queue_prefetch = 10

    @taskq.actor(queue_name=queue_name)
    def work(i):
        ran.append(i)

    for thread in worker.workers:
        thread.pause()
        assert thread.paused_event.wait(5)
    for i in range(5):
        work.send(i)
    deadline = time.monotonic() + 5
    while worker.work_queue.qsize() < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.work_queue.qsize() == 5
    assert ran == []
    worker.resume()
    stub_broker.join(queue_name, timeout=10_000)
    assert sorted(ran) == list(range(5))


def test_queue_prefetch_pins_the_prefetch_of_queues_consumed_later(stub_broker, start_worker):
    worker = start_worker(stub_broker)
    worker.queue_prefetch = 3
    assert worker.queue_prefetch == 3

    @taskq.actor(queue_name="pinned_prefetch")
    def work():
        pass

    assert worker.consumers["pinned_prefetch"].window.size == 3


def test_queue_prefetch_module_default_is_read_by_new_workers(stub_broker, monkeypatch):
    import taskq.worker

    monkeypatch.setattr(taskq.worker, "QUEUE_PREFETCH", 7)
    assert taskq.Worker(stub_broker).queue_prefetch == 7


def test_add_middleware_placement_errors_and_duplicate_warning(caplog):
    from taskq.brokers.stub import StubBroker
    from taskq.middleware import AgeLimit

    class Marker(taskq.Middleware):
        pass

    broker = StubBroker()
    with pytest.raises(ValueError, match="no such middleware"):
        broker.add_middleware(Marker(), after=Marker)
    with pytest.raises(AssertionError, match="not both"):
        broker.add_middleware(Marker(), before=AgeLimit, after=AgeLimit)
    first, second = Marker(), Marker()
    broker.add_middleware(first)
    with caplog.at_level("WARNING"):
        broker.add_middleware(second)
    assert "same type twice" in caplog.text
    assert first in broker.middleware and second in broker.middleware


def test_stub_dead_letter_lists_are_plain_lists_a_test_may_fill(stub_broker, queue_name):
    @taskq.actor(queue_name=queue_name)
    def work():
        pass

    work.send()
    planted = work.message()
    # Every queue has a list, even before its first dead letter, as in Dramatiq's StubBroker.
    stub_broker.dead_letters_by_queue[queue_name].append(planted)
    assert stub_broker.dead_letters == [planted]
    assert stub_broker.queue_stats()[queue_name]["dead"] == 0  # not one the broker recorded

    stub_broker.flush_all()
    assert stub_broker.queues[queue_name].qsize() == 0
    assert stub_broker.dead_letters == []
