"""BufferedMetrics: batched Prometheus updates end up exactly where direct updates would."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from taskq.metrics.buffer import BufferedMetrics, DirectMetrics

from ..helpers import wait_for

prom = pytest.importorskip("prometheus_client")

BUCKETS = (5, 10, 25, float("inf"))


def metrics() -> tuple[object, object, object, object]:
    registry = prom.CollectorRegistry()
    counter = prom.Counter("jobs_total", "", registry=registry)
    gauge = prom.Gauge("jobs_running", "", registry=registry)
    histogram = prom.Histogram("job_ms", "", registry=registry, buckets=BUCKETS)
    return registry, counter, gauge, histogram


def samples(registry) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def record(updates, counter, gauge, histogram, durations) -> None:
    for duration in durations:
        updates.inc(gauge)
        updates.observe(histogram, duration)
        updates.inc(counter)
        updates.inc(gauge, -1)
    updates.inc(gauge, 2)


DURATIONS = [0, 5, 5.5, 10, 24, 25, 26, 1000, 3]


def test_a_flush_writes_what_direct_updates_write():
    direct_registry, *direct = metrics()
    record(DirectMetrics(), *direct, DURATIONS)
    buffered_registry, *buffered = metrics()
    updates = BufferedMetrics(interval=60)
    record(updates, *buffered, DURATIONS)

    assert samples(buffered_registry)[("jobs_total", ())] == 0  # nothing written yet
    updates.flush()
    assert samples(buffered_registry) == samples(direct_registry)
    assert samples(buffered_registry)[("job_ms_bucket", (("le", "5.0"),))] == 3
    updates.stop()


def test_updates_are_written_by_the_background_thread_within_the_interval():
    registry, counter, gauge, histogram = metrics()
    updates = BufferedMetrics(interval=0.05)
    try:
        updates.inc(counter, 3)
        wait_for(lambda: samples(registry)[("jobs_total", ())] == 3, timeout=5)
        updates.inc(counter)  # a second batch, after the thread went back to sleep
        wait_for(lambda: samples(registry)[("jobs_total", ())] == 4, timeout=5)
    finally:
        updates.stop()


def test_stop_writes_what_is_pending_and_a_later_update_starts_over():
    registry, counter, _, histogram = metrics()
    updates = BufferedMetrics(interval=60)
    updates.inc(counter, 2)
    updates.observe(histogram, 7)
    updates.stop()
    assert samples(registry)[("jobs_total", ())] == 2
    assert samples(registry)[("job_ms_sum", ())] == 7

    updates.interval = 0.05
    updates.inc(counter)
    wait_for(lambda: samples(registry)[("jobs_total", ())] == 3, timeout=5)
    updates.stop()


def test_concurrent_updates_are_all_counted():
    registry, counter, gauge, histogram = metrics()
    updates = BufferedMetrics(interval=0.01)

    def work() -> None:
        record(updates, counter, gauge, histogram, [1.0] * 2_000)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    updates.stop()
    values = samples(registry)
    assert values[("jobs_total", ())] == 16_000
    assert values[("job_ms_count", ())] == 16_000
    assert values[("jobs_running", ())] == 16  # each thread left +2 behind


def finished_messages(updates, registry_and_metrics, errors) -> object:
    registry, counter, gauge, histogram = registry_and_metrics
    errored = prom.Counter("job_errors_total", "", registry=registry)
    children = SimpleNamespace(total=counter, errored=errored, durations=histogram)
    for duration, failed in zip(DURATIONS, errors, strict=True):
        updates.inc(gauge)
        updates.finish(children, duration, running=gauge, errored=failed)
    updates.finish(children, 7)  # a message that was never counted as running
    return registry


def test_a_finished_message_is_counted_alike_buffered_or_direct():
    errors = [i % 3 == 0 for i in range(len(DURATIONS))]
    direct = finished_messages(DirectMetrics(), metrics(), errors)
    updates = BufferedMetrics(interval=60)
    buffered = finished_messages(updates, metrics(), errors)
    updates.flush()
    assert samples(buffered) == samples(direct)
    assert samples(buffered)[("jobs_total", ())] == len(DURATIONS) + 1
    assert samples(buffered)[("job_errors_total", ())] == sum(errors)
    assert samples(buffered)[("jobs_running", ())] == 0
    updates.stop()


@pytest.mark.parametrize("kind", [DirectMetrics, BufferedMetrics])
def test_started_messages_show_in_progress_until_they_finish(kind):
    registry, counter, gauge, histogram = metrics()
    updates = kind() if kind is DirectMetrics else kind(interval=60)
    children = SimpleNamespace(total=counter, errored=counter, durations=histogram)
    all_started, finish = threading.Barrier(4, timeout=10), threading.Event()

    def run_one() -> None:
        updates.start(gauge)
        all_started.wait()
        finish.wait(10)
        updates.finish(children, 3, running=gauge)

    threads = [threading.Thread(target=run_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    all_started.wait()
    updates.flush()
    running = samples(registry)[("jobs_running", ())]
    finish.set()
    for thread in threads:
        thread.join()
    updates.flush()
    assert running == 3
    assert samples(registry)[("jobs_running", ())] == 0
    assert samples(registry)[("jobs_total", ())] == 3
    updates.stop()


def test_a_thread_that_ends_mid_message_stops_counting_as_running():
    registry, _, gauge, _ = metrics()
    updates = BufferedMetrics(interval=60)
    thread = threading.Thread(target=updates.start, args=(gauge,))
    thread.start()
    thread.join()
    updates.flush()
    assert samples(registry)[("jobs_running", ())] == 0
    updates.stop()
