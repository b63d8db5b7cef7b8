"""The adaptive prefetch window: wide for short jobs, Dramatiq's 2 × threads for long ones."""

from __future__ import annotations

from taskq.worker.prefetch import PrefetchWindow


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(threads: int = 8, **kwargs: object) -> PrefetchWindow:
    kwargs.setdefault("shrink_after", 0)
    return PrefetchWindow(threads, check_every=0, **kwargs)  # type: ignore[arg-type]


def widened_by_short_jobs(clock: Clock) -> PrefetchWindow:
    """A window of 8 threads that narrows after a second, widened to its maximum."""
    w = window(shrink_after=1.0, clock=clock)
    for _ in range(20):
        w.record(0.05)
    assert w.resize() == 1024
    return w


def test_starts_at_two_per_thread_and_waits_for_a_duration() -> None:
    w = window()
    assert w.size == 16
    assert w.resize() is None


def test_short_jobs_widen_it_to_a_hundred_and_twenty_eight_per_thread() -> None:
    w = window()
    for _ in range(20):
        w.record(0.05)
    assert w.resize() == 1024
    assert w.size == 1024
    assert w.resize() is None  # no change, nothing to do


def test_long_jobs_narrow_it_back() -> None:
    w = window()
    for _ in range(20):
        w.record(0.05)
    w.resize()
    for _ in range(40):
        w.record(2_000)
    assert w.resize() == 16


def test_it_holds_about_a_hundred_ms_of_work_per_thread_in_between() -> None:
    w = window(threads=4)
    for _ in range(100):
        w.record(4.0)  # 100 ms / 4 ms = 25 per thread
    assert w.resize() == 100
    for _ in range(100):
        w.record(10.0)  # 10 per thread = 40: more than a quarter of 100, kept
    assert w.resize() is None
    for _ in range(200):
        w.record(40.0)  # 2.5 per thread = 10: under a quarter, narrowed
    assert w.resize() in (10, 11)  # the running mean is still a hair under 40 ms
    for _ in range(200):
        w.record(20.0)  # 5 per thread = 20: less than double, kept
    assert w.resize() is None
    for _ in range(200):
        w.record(10.0)  # 10 per thread = 40: more than double, widened again
    assert w.resize() in (40, 41)


def test_a_wobbling_mean_does_not_make_it_resize_back_and_forth() -> None:
    clock = Clock()
    w = widened_by_short_jobs(clock)
    for duration in (3.0, 6.0, 1.0, 5.0, 0.1, 4.0, 8.0, 0.5):  # wall times under contention
        for _ in range(30):
            w.record(duration)
        clock.now += 0.2
        assert w.resize() is None
    assert w.size == 1024


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


def test_it_narrows_only_once_jobs_have_stayed_long_for_a_second() -> None:
    clock = Clock()
    w = widened_by_short_jobs(clock)
    for _ in range(40):
        w.record(2_000)
    assert w.resize() is None  # too wide since now
    clock.now += 0.6
    assert w.resize() is None
    clock.now += 0.5
    assert w.resize() == 16


def test_a_burst_of_slow_jobs_shorter_than_a_second_leaves_it_wide() -> None:
    clock = Clock()
    w = widened_by_short_jobs(clock)
    for _ in range(40):
        w.record(15.0)  # a process that waited for its core: 100 ms / 15 ms = 7 per thread
    assert w.resize() is None
    clock.now += 0.5
    for _ in range(40):
        w.record(0.05)  # short again
    assert w.resize() is None
    clock.now += 1.0
    assert w.resize() is None
    assert w.size == 1024
