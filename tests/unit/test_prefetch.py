"""The adaptive prefetch window: wide for short jobs, Dramatiq's 2 × threads for long ones."""

from __future__ import annotations

from taskq.prefetch import PrefetchWindow


def window(threads: int = 8, **kwargs: object) -> PrefetchWindow:
    return PrefetchWindow(threads, check_every=0, **kwargs)  # type: ignore[arg-type]


def test_starts_at_two_per_thread_and_waits_for_a_duration() -> None:
    w = window()
    assert w.size == 16
    assert w.resize() is None


def test_short_jobs_widen_it_to_eight_per_thread() -> None:
    w = window()
    for _ in range(20):
        w.record(0.05)
    assert w.resize() == 64
    assert w.size == 64
    assert w.resize() is None  # no change, nothing to do


def test_long_jobs_narrow_it_back() -> None:
    w = window()
    for _ in range(20):
        w.record(0.05)
    w.resize()
    for _ in range(40):
        w.record(2_000)
    assert w.resize() == 16


def test_it_holds_about_fifty_ms_of_work_per_thread_in_between() -> None:
    w = window(threads=4)
    for _ in range(100):
        w.record(2.0)  # 50 ms / 2 ms = 25 per thread, clamped to 8 per thread
    assert w.resize() == 32
    for _ in range(100):
        w.record(5.0)  # 10 per thread → 40 > 32: stays at the maximum
    assert w.resize() is None
    for _ in range(200):
        w.record(10.0)  # 5 per thread = 20: not half of 32, kept
    assert w.resize() is None
    for _ in range(200):
        w.record(20.0)  # 2.5 per thread = 10: under half, narrowed
    assert w.resize() in (10, 11)  # the running mean is still a hair under 20 ms


def test_a_fixed_prefetch_never_changes() -> None:
    w = window(fixed=3)
    for _ in range(20):
        w.record(0.01)
    assert w.resize() is None
    assert w.size == 3


def test_it_looks_at_the_mean_only_every_check_interval() -> None:
    w = PrefetchWindow(8, check_every=3600)
    w.record(0.01)
    assert w.resize() is None
