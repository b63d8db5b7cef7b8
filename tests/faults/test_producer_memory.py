"""Bounded producer memory (issue 26): ``group(generator).run()`` streams its members in
chunks, so the producer's peak memory does not grow with the number of messages (ten times
more messages cost only the packed member ids, 20 bytes each)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import taskq
from bench.producer_memory import measure
from taskq.group_members import STREAM_CHUNK

pytestmark = pytest.mark.faults

SMALL = 20_000
LARGE = 200_000
#: Allowed growth (MB) from SMALL to LARGE: the packed ids of 180,000 more members take
#: 3.6 MB; materialising the messages took over 800 MB.
MARGIN_MB = 15


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis", "rabbitmq"])
def test_group_run_memory_does_not_grow_with_its_size(kind: str) -> None:
    small = measure(kind, SMALL, worker_seconds=0)
    large = measure(kind, LARGE, worker_seconds=0)
    print(f"\n[faults] producer memory {kind}: {small} {large}")
    assert small["queued"] == SMALL and large["queued"] == LARGE
    assert large["peak_mb"] - small["peak_mb"] < MARGIN_MB, (small, large)
    assert large["peak_mb"] < 100, large


def test_a_streamed_group_still_waits_and_returns_results_in_order(
    stub_broker: taskq.Broker, start_worker: Any
) -> None:
    @taskq.actor(store_results=True, max_retries=0)
    def double(i: int) -> int:
        return 2 * i

    size = STREAM_CHUNK * 2 + 7
    odd_id = double.message(-1).copy(message_id="not-a-uuid")
    members = itertools.chain((double.message(i) for i in range(size)), [odd_id])
    group = taskq.group(members).run()
    start_worker(stub_broker)
    group.wait(timeout=60_000)
    assert len(group) == size + 1
    assert group.completed and group.completed_count == size + 1
    assert list(group.get_results()) == [2 * i for i in range(size)] + [-2]


def test_a_streamed_group_refuses_to_run_twice(stub_broker: taskq.Broker) -> None:
    @taskq.actor
    def noop(i: int) -> None:
        pass

    group = taskq.group(noop.message(i) for i in range(3)).run()
    with pytest.raises(RuntimeError, match="made from a generator"):
        group.run()
    assert stub_broker.queue_stats()[noop.queue_name]["ready"] == 3
