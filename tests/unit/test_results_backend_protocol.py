"""The result backend contract Dramatiq programs rely on: constructor keywords, keys, the
stored value format, the ``_get``/``_store`` protocol of hand-written backends, ``Missing``, and
what the Results middleware stores for skipped, failed and unknown messages."""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

import pytest

import taskq
from taskq.encoder import Encoder, JSONEncoder, PickleEncoder, get_encoder, set_encoder
from taskq.middleware import Middleware, SkipMessage
from taskq.results import (
    Missing,
    Result,
    ResultBackend,
    ResultFailure,
    ResultMissing,
    Results,
    ResultTimeout,
)
from taskq.results.backends import StubBackend
from taskq.results.result import FAILURE_MARK, unwrap_result, wrap_exception


class DictBackend(ResultBackend):
    """A backend written the way Dramatiq documents it: only ``_get`` and ``_store``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: dict[str, tuple[bytes, float]] = {}

    def _get(self, message_key: str) -> Any:
        data, expires = self.data.get(message_key, (None, 0.0))
        if data is None or expires < time.monotonic():
            return Missing
        return self.encoder.decode(data)

    def _store(self, message_key: str, result: Any, ttl: int) -> None:
        self.data[message_key] = (self.encoder.encode(result), time.monotonic() + ttl / 1000)


def _every_backend_class(tmp_path):
    from taskq.results.backends import (
        DramatiqRedisBackend,
        MemcachedBackend,
        RedisBackend,
        SQLiteBackend,
    )

    return [
        (StubBackend, {}),
        (RedisBackend, {}),
        (DramatiqRedisBackend, {}),
        (MemcachedBackend, {}),
        (SQLiteBackend, {"path": tmp_path / "results.db"}),
    ]


def test_every_backend_takes_dramatiqs_keywords(tmp_path):
    encoder = PickleEncoder()
    for backend_class, extra in _every_backend_class(tmp_path):
        backend = backend_class(
            namespace="ns", encoder=encoder, use_namespace_prefix_keys=True, **extra
        )
        assert (backend.namespace, backend.encoder, backend.use_namespace_prefix_keys) == (
            "ns",
            encoder,
            True,
        ), backend_class


def test_the_default_encoder_is_the_message_encoder():
    previous = get_encoder()
    custom = PickleEncoder()
    set_encoder(custom)
    try:
        assert StubBackend().encoder is custom
    finally:
        set_encoder(previous)
    assert isinstance(StubBackend().encoder, JSONEncoder)


def test_keys_name_the_namespace_and_a_bare_id_finds_a_result():
    backend = StubBackend(namespace="app")
    message = taskq.Message(queue_name="default", actor_name="add", message_id="id-1")
    key = backend.build_message_key(message)
    assert key.startswith("app:") and key == backend.build_message_key("id-1")
    backend.store_result(message, 3, 10_000)
    assert backend.get_result("id-1") == 3


def test_readable_keys_name_queue_actor_and_id_and_need_the_message():
    backend = StubBackend(namespace="app", use_namespace_prefix_keys=True)
    message = taskq.Message(queue_name="default.DQ", actor_name="add", message_id="id-1")
    assert backend.build_message_key(message) == "app:default:add:id-1"
    with pytest.raises(TypeError, match="needs the Message"):
        backend.build_message_key("id-1")


def test_values_are_stored_in_dramatiqs_format():
    backend = StubBackend()
    message = taskq.Message(queue_name="q", actor_name="a")
    backend.store_result(message, {"total": 3}, 10_000)
    assert backend._get(backend.build_message_key(message)) == {"total": 3}

    backend.store_exception(message, ValueError("bad input"), 10_000)
    stored = backend._get(backend.build_message_key(message))
    assert stored == {"__t": FAILURE_MARK, "exn": {"type": "ValueError", "msg": "bad input"}}
    with pytest.raises(ResultFailure, match="actor raised ValueError: bad input") as info:
        backend.get_result(message)
    assert (info.value.orig_exc_type, info.value.orig_exc_msg) == ("ValueError", "bad input")


def test_a_value_stored_with_store_is_read_back_as_the_result():
    backend = StubBackend()
    message = taskq.Message(queue_name="q", actor_name="a")
    backend._store(backend.build_message_key(message), 42, 10_000)
    assert backend.get_result(message, block=True, timeout=1_000) == 42


def test_wrap_and_unwrap_round_trip():
    assert unwrap_result([1, 2]) == [1, 2]
    with pytest.raises(ResultFailure, match="actor raised KeyError"):
        unwrap_result(wrap_exception(KeyError("k")))


def test_a_backend_with_only_get_and_store_is_complete():
    backend = DictBackend(namespace="hand-written")
    message = taskq.Message(queue_name="q", actor_name="a")
    with pytest.raises(ResultMissing):
        backend.get_result(message)
    assert not backend.has_result(message)
    with pytest.raises(ResultTimeout):
        backend.get_result(message, block=True, timeout=30)

    backend.store_result(message, "done", 10_000)
    assert backend.has_result(message)
    assert backend.get_result(message, block=True, timeout=1_000) == "done"
    backend.store_exception(message, RuntimeError("no"), 10_000)
    with pytest.raises(ResultFailure, match="RuntimeError: no"):
        backend.get_result(message)

    backend.set_abort("some-id", 10_000)
    assert backend.is_aborted("some-id") and not backend.is_aborted("other-id")


def test_a_hand_written_backend_serves_the_results_middleware(stub_broker, start_worker):
    backend = DictBackend()
    stub_broker.add_middleware(Results(backend=backend))

    @taskq.actor(store_results=True)
    def double(x):
        return 2 * x

    start_worker(stub_broker)
    assert double.send(21).get_result(backend=backend, block=True, timeout=10_000) == 42


def test_missing_is_one_falsy_canary():
    from taskq.results.backend import Missing as same

    assert same is Missing and not Missing and repr(Missing) == "Missing"
    assert pickle.loads(pickle.dumps(Missing)) is Missing
    assert Result is Any


class _CountingEncoder(Encoder):
    def __init__(self) -> None:
        self.inner, self.encoded = JSONEncoder(), 0

    def encode(self, data: Any) -> bytes:
        self.encoded += 1
        return self.inner.encode(data)

    def decode(self, data: bytes) -> Any:
        return self.inner.decode(data)


def test_results_are_encoded_with_the_backends_encoder(stub_broker, start_worker):
    encoder = _CountingEncoder()
    backend = StubBackend(encoder=encoder)
    stub_broker.add_middleware(Results(backend=backend))

    @taskq.actor(store_results=True)
    def answer():
        return 42

    start_worker(stub_broker)
    assert answer.send().get_result(backend=backend, block=True, timeout=10_000) == 42
    assert encoder.encoded == 1


class _Skipper(Middleware):
    def before_process_message(self, broker, message):
        raise SkipMessage("not today")


def test_a_message_skipped_without_failing_has_none_as_its_result(stub_broker, start_worker):
    backend = StubBackend()
    stub_broker.add_middleware(Results(backend=backend))
    stub_broker.add_middleware(_Skipper())

    @taskq.actor(store_results=True)
    def work():
        return 42

    start_worker(stub_broker)
    message = work.send()
    assert message.get_result(backend=backend, block=True, timeout=10_000) is None


def test_results_ignore_messages_of_actors_the_broker_does_not_know(stub_broker):
    backend = StubBackend()
    results = Results(backend=backend)
    message = taskq.Message(queue_name="default", actor_name="nobody", args=(), kwargs={})
    assert results.after_nack(stub_broker, message) is None
    assert results.after_skip_message(stub_broker, message) is None
    assert not backend.has_result(message)


def test_a_discarded_value_is_warned_about_once_per_actor(stub_broker, start_worker, caplog):
    @taskq.actor
    def returns_one():
        return 1

    @taskq.actor
    def returns_none():
        return None

    start_worker(stub_broker)
    with caplog.at_level(logging.WARNING, logger="taskq.results"):
        for _ in range(3):
            returns_one.send()
        returns_none.send()
        stub_broker.join(returns_one.queue_name, timeout=10_000)
    warnings = [r.getMessage() for r in caplog.records if r.name == "taskq.results"]
    assert len(warnings) == 1
    assert "'returns_one'" in warnings[0] and "the value has been discarded" in warnings[0]


def test_a_value_piped_to_the_next_actor_is_not_warned_about(stub_broker, start_worker, caplog):
    @taskq.actor
    def produce():
        return 1

    @taskq.actor
    def consume(value):
        return None

    start_worker(stub_broker)
    with caplog.at_level(logging.WARNING, logger="taskq.results"):
        (produce.message() | consume.message()).run()
        stub_broker.join(produce.queue_name, timeout=10_000)
    assert not [r for r in caplog.records if r.name == "taskq.results"]


def test_reading_results_without_the_results_middleware_is_a_runtime_error(queue_name):
    from taskq.broker import _reset_global_broker
    from taskq.brokers.stub import StubBroker
    from taskq.middleware import MiddlewareError

    taskq.set_broker(StubBroker())
    try:

        @taskq.actor(queue_name=queue_name)
        def work():
            return 1

        message = work.send()
        for raised in (RuntimeError, MiddlewareError):  # Dramatiq's and taskq's names for it
            with pytest.raises(raised, match="Results middleware is not set up"):
                message.get_result()
    finally:
        _reset_global_broker()
