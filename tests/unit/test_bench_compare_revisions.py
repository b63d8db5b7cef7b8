"""The revision comparison flags a case as slower in the direction its unit reads, and runs
cases built on one measurement once per round."""

from __future__ import annotations

import math

from bench.cases import Case
from bench.compare_revisions import is_slower, plan, slowdown


def case(name: str, brokers: tuple[str, ...] = ("redis",), **kwargs: object) -> Case:
    fields: dict[str, object] = {"name": name, "unit": "msg/s", "higher_is_better": True}
    fields.update(kwargs, brokers=brokers)
    fields.setdefault("run", lambda setup: 0.0)
    return Case(**fields)  # type: ignore[arg-type]


def test_fewer_messages_per_second_is_slower() -> None:
    assert is_slower(1000.0, 940.0, higher_is_better=True)
    assert not is_slower(1000.0, 960.0, higher_is_better=True)
    assert not is_slower(1000.0, 2000.0, higher_is_better=True)


def test_more_milliseconds_is_slower() -> None:
    assert is_slower(10.0, 10.6, higher_is_better=False)
    assert not is_slower(10.0, 10.4, higher_is_better=False)
    assert not is_slower(10.0, 5.0, higher_is_better=False)


def test_exactly_five_percent_is_not_more_than_five_percent() -> None:
    assert not is_slower(100.0, 105.0, higher_is_better=False)
    assert not is_slower(100.0, 95.0, higher_is_better=True)


def test_slowdown_is_a_signed_fraction_of_before() -> None:
    assert math.isclose(slowdown(200.0, 150.0, higher_is_better=True), 0.25)
    assert math.isclose(slowdown(4.0, 5.0, higher_is_better=False), 0.25)
    assert math.isclose(slowdown(4.0, 3.0, higher_is_better=False), -0.25)


def test_a_zero_before_is_only_slower_if_after_moved_the_wrong_way() -> None:
    assert slowdown(0.0, 0.0, higher_is_better=False) == 0
    assert is_slower(0.0, 0.5, higher_is_better=False)
    assert not is_slower(0.0, 0.5, higher_is_better=True)


def test_cases_on_one_run_are_measured_together_per_broker() -> None:
    def shared(setup: object) -> tuple[float, float]:
        return (1.0, 2.0)

    cases = [
        case("p50", ("redis", "rabbitmq"), run=shared),
        case("throughput", ("sqlite",)),
        case("p99", ("redis", "rabbitmq"), run=shared),
    ]
    rows, runs = plan(cases, only=None, brokers=None, exclude=[])
    assert [(row.case.name, row.broker) for row in rows] == [
        ("p50", "redis"),
        ("p50", "rabbitmq"),
        ("throughput", "sqlite"),
        ("p99", "redis"),
        ("p99", "rabbitmq"),
    ]
    assert runs == [(0, "redis", [0, 3]), (0, "rabbitmq", [1, 4]), (1, "sqlite", [2])]


def test_only_exclude_and_broker_filters() -> None:
    cases = [case("idle CPU"), case("no-op throughput", ("redis", "sqlite"))]
    rows, runs = plan(cases, only="throughput", brokers=["sqlite"], exclude=[])
    assert [(row.case.name, row.broker) for row in rows] == [("no-op throughput", "sqlite")]
    rows, runs = plan(cases, only=None, brokers=None, exclude=["IDLE"])
    assert [row.index for row in rows] == [1, 1]
    assert runs == [(1, "redis", [0]), (1, "sqlite", [1])]
