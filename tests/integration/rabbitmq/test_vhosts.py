"""Multi-tenancy: brokers on two vhosts of one server never see each other's messages."""

from __future__ import annotations

import pytest

import taskq

from ...factories.rabbitmq import make_broker
from ...helpers import wait_for

pytestmark = pytest.mark.rabbitmq


def test_two_vhosts_are_isolated(make_vhost, queue_name, start_worker):
    """A fresh vhost against the default one (each rabbitmqctl call costs seconds); the
    queue names are the same on both sides."""
    first, second = make_vhost(), "/"
    seen: dict[str, list[str]] = {first: [], second: []}
    with (
        make_broker(url=f"amqp://guest:guest@127.0.0.1:5672/{first}") as one,
        make_broker(parameters=[dict(host="127.0.0.1", port=5672, virtual_host=second)]) as two,
    ):
        actors = {}
        for vhost, broker in ((first, one), (second, two)):

            @taskq.actor(broker=broker, queue_name=queue_name, actor_name="record")
            def record(value, vhost=vhost):
                seen[vhost].append(value)

            actors[vhost] = record
        for i in range(5):
            actors[first].send(f"one-{i}")
        for i in range(3):
            actors[second].send(f"two-{i}")
        # Publishes without confirms are routed asynchronously: poll the counts.
        wait_for(lambda: one.queue_stats()[queue_name]["ready"] == 5, message="5 on the vhost")
        wait_for(lambda: two.queue_stats()[queue_name]["ready"] == 3, message="3 on /")
        start_worker(one)
        start_worker(two)
        wait_for(lambda: len(seen[first]) == 5 and len(seen[second]) == 3, message="both vhosts")
        assert sorted(seen[first]) == [f"one-{i}" for i in range(5)]
        assert sorted(seen[second]) == [f"two-{i}" for i in range(3)]
