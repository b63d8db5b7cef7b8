"""The benchmark report judges each row against issue 10's target on unrounded values."""

from __future__ import annotations

from bench.__main__ import measure, render
from bench.cases import Case, meets


def case(**kwargs: object) -> Case:
    fields = {"name": "no-op", "unit": "msg/s", "higher_is_better": True, "brokers": ("redis",)}
    fields.update(kwargs)
    fields.setdefault("run", lambda setup: 0.0)
    return Case(**fields)  # type: ignore[arg-type]


def test_ratio_and_absolute_targets() -> None:
    assert meets("≥2×", 2.0, 10.0)
    assert not meets("≥2×", 1.996, 10.0)
    assert meets("≤1×", 0.99, 1.6)
    assert meets("≤5 ms", 9.0, 4.9)  # absolute targets look at taskq's own value
    assert not meets("≤20 ms", 0.1, 20.5)


def test_rows_without_a_named_target_must_beat_dramatiq() -> None:
    assert case().target("redis") == "≥1×"
    assert case(higher_is_better=False).target("redis") == "≤1×"
    assert case(targets={"redis": "≥2×"}).target("redis") == "≥2×"


def test_a_row_rounding_to_the_target_is_still_reported_as_missed() -> None:
    row = (case(targets={"rabbitmq": "≥2×"}), "rabbitmq", {"dramatiq": [100.0], "taskq": [199.6]})
    report = render([row], runs=1)
    assert "| 1.996× | ≥2× | **no** |" in report


def test_cases_on_the_same_run_share_each_round_of_it() -> None:
    calls: list[str] = []

    def sample(setup: object) -> list[float]:
        calls.append(setup.framework)  # type: ignore[attr-defined]
        return [1.0, 2.0, 3.0] if setup.framework == "taskq" else [4.0, 5.0, 6.0]  # type: ignore[attr-defined]

    low = case(run=sample, pick=min)
    high = case(run=sample, pick=max)
    shared: dict = {}
    lows = measure(low, "redis", 2, shared)
    highs = measure(high, "redis", 2, shared)
    assert sorted(calls) == ["dramatiq", "dramatiq", "taskq", "taskq"]
    assert lows == {"dramatiq": [4.0, 4.0], "taskq": [1.0, 1.0]}
    assert highs == {"dramatiq": [6.0, 6.0], "taskq": [3.0, 3.0]}
