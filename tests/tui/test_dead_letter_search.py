"""Dead-letter search: `Broker.search_dead_letters` on each store, at 100,000 letters on SQLite,
and the Queues tab using it."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from taskq.brokers.sqlite import SQLiteBroker
from taskq.common import current_millis
from taskq.message import Message

from .pilot_helpers import table_column, wait_until

BULK = 100_000


def dead_letter_through_a_consumer(broker: Any, message: Message[Any], reason: str) -> None:
    """Enqueue ``message`` and dead-letter it with ``reason``, as a worker would."""
    broker.enqueue(message)
    consumer = broker.consume(message.queue_name, prefetch=1, timeout=2000)
    try:
        proxy = next(consumer)
        while proxy is None:
            proxy = next(consumer)
        proxy.fail(reason)
        consumer.nack(proxy)
    finally:
        consumer.close()


@pytest.fixture(params=["stub", "sqlite", "redis", "rabbitmq"])
def small_store(request: pytest.FixtureRequest, queue_name: str) -> Iterator[Any]:
    """A broker of each kind holding four dead letters of ``queue_name``, oldest first."""
    factory = importlib.import_module(f"tests.factories.{request.param}")
    with factory.make_broker() as broker:
        broker.declare_queue(queue_name)
        letters = [
            ("send_email", ("alice@example.com",), "ValueError: mailbox full"),
            ("send_email", ("Bob@Example.com",), "TimeoutError: smtp"),
            ("charge", ("100%",), "ValueError: bad amount"),
            ("charge", ("1000",), "KeyError: 'card'"),
        ]
        messages = []
        for actor, args, reason in letters:
            message = Message(queue_name=queue_name, actor_name=actor, args=args)
            dead_letter_through_a_consumer(broker, message, reason)
            messages.append(message)
            # Letters are ordered by the millisecond they died in (Redis scores them by it):
            # two in the same millisecond would have no newest.
            died = current_millis()
            while current_millis() <= died:
                time.sleep(0.0002)
        broker.messages = messages
        yield broker


def ids(letters: list[Any]) -> list[str]:
    return [letter.message_id for letter in letters]


def test_search_matches_id_actor_arguments_and_reason(small_store: Any, queue_name: str) -> None:
    alice, bob, hundred_percent, thousand = (m.message_id for m in small_store.messages)
    search = small_store.search_dead_letters
    assert ids(search(queue_name, "bob@example")) == [bob]  # arguments, case-insensitive
    assert ids(search(queue_name, "SEND_EMAIL")) == [bob, alice]  # actor; newest first
    assert ids(search(queue_name, "mailbox")) == [alice]  # reason
    assert ids(search(queue_name, thousand[:8])) == [thousand]  # id prefix
    assert ids(search(queue_name, "0%")) == [hundred_percent]  # % is literal, not a wildcard
    assert ids(search(queue_name, "charge", limit=1)) == [thousand]
    assert search(queue_name, "nobody-has-this") == []
    assert search("some-other-queue", "alice") == []


def bulk_dead_letters(broker: SQLiteBroker, queue_name: str, count: int) -> list[Message[Any]]:
    """Write ``count`` dead letters straight into the broker's table, in one transaction:
    ``process_order(i, "order-i")`` on ``queue_name``, letter ``i`` dead ``count - i`` ms ago."""
    now = current_millis()
    messages = [
        Message(
            queue_name=queue_name,
            actor_name=f"process_order_{i % 10}",
            args=(i, f"order-{i}"),
            kwargs={"customer": f"c{i % 977}"},
        )
        for i in range(count)
    ]
    rows = [
        (queue_name, m.message_id, f"ValueError: order {i} failed", now - count + i, m.encode())
        for i, m in enumerate(messages)
    ]
    with broker.db.transaction() as connection:
        connection.executemany(
            "INSERT INTO taskq_dead_letters (queue_name, message_id, reason, dead_at, payload)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    return messages


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Any]]]:
    """A SQLite file with 100,000 dead letters on queue ``orders`` (and one on ``other``)."""
    path = tmp_path_factory.mktemp("big") / "broker.db"
    broker = SQLiteBroker(path)
    broker.declare_queue("orders")
    broker.declare_queue("other")
    messages = bulk_dead_letters(broker, "orders", BULK)
    bulk_dead_letters(broker, "other", 1)  # "order-0" also exists there: must not leak in
    broker.close()
    yield str(path), messages


def test_search_among_100000_dead_letters(big_store: tuple[str, list[Any]]) -> None:
    path, messages = big_store
    broker = SQLiteBroker(path)
    try:
        assert broker.queue_stats()["orders"]["dead"] == BULK
        timings = {}

        def search(text: str, limit: int = 100) -> list[str]:
            started = time.perf_counter()
            found = broker.search_dead_letters("orders", text, limit=limit)
            timings[text] = (time.perf_counter() - started) * 1000
            return ids(found)

        target = messages[73_519]
        assert search('"order-73519"') == [target.message_id]  # argument text
        assert search(target.message_id) == [target.message_id]  # full id
        assert search(target.message_id[:13].upper()) == [target.message_id]  # id prefix
        assert search("order 99998 failed") == [messages[99_998].message_id]  # reason
        newest_of_actor = [m.message_id for m in reversed(messages) if m.actor_name.endswith("_7")]
        assert search("process_order_7", limit=50) == newest_of_actor[:50]
        assert search('"c976"', limit=1000) == [
            m.message_id for m in reversed(messages) if m.kwargs["customer"] == "c976"
        ]
        assert search("no-such-order") == []
        print(
            "\nsearch among 100,000 SQLite dead letters (ms): "
            + ", ".join(f"{text!r}: {ms:.1f}" for text, ms in timings.items())
        )
    finally:
        broker.close()


@pytest.mark.anyio
async def test_queues_tab_searches_100000_dead_letters(
    make_app: Any, big_store: tuple[str, list[Any]]
) -> None:
    path, messages = big_store
    app = make_app(broker_url=f"sqlite:///{path}", read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.focused is not None)
        await pilot.press("4")
        await wait_until(pilot, lambda: "orders" in table_column(app, "#queue-table", 0))
        await wait_until(pilot, lambda: app.query_one("#dead-table").row_count == 2000)
        target = messages[42_424]
        app.query_one("#dl-search").value = "order-42424"
        await wait_until(
            pilot,
            lambda: table_column(app, "#dead-table", 0) == [target.message_id[:8]],
            message="the one matching letter",
        )
        title = str(app.query_one("#dead-title").render())
        assert "orders" in title and "1 match 'order-42424'" in title
        print(f"\nQueues tab: {title}")
