"""The Prometheus middleware counts what a worker does, per queue and actor (one process)."""

from __future__ import annotations

import pytest

import taskq
from taskq.brokers.stub import StubBroker
from taskq.middleware import Retries

from ...helpers import wait_for

pytest.importorskip("prometheus_client")

from taskq.middleware.prometheus import Prometheus  # noqa: E402


def sample(prometheus: Prometheus, name: str, queue: str, actor: str) -> float:
    value = prometheus.registry.get_sample_value(name, {"queue_name": queue, "actor_name": actor})
    return value or 0.0


def test_prometheus_is_opt_in_as_in_dramatiq_2():
    assert not any(isinstance(m, Prometheus) for m in StubBroker().middleware)


def test_counts_successes_errors_retries_rejects_and_durations(queue_name, start_worker):
    prometheus = Prometheus()
    broker = StubBroker(middleware=[prometheus, Retries(min_backoff=1, max_backoff=1)])
    taskq.set_broker(broker)
    attempts: dict[int, int] = {}

    @taskq.actor(queue_name=queue_name, max_retries=1)
    def work(i: int) -> None:
        attempts[i] = attempts.get(i, 0) + 1
        if i == 1 and attempts[i] == 1:
            raise ValueError("fails once")  # retried, then succeeds
        if i == 2:
            raise ValueError("always fails")  # retried once, then dead-lettered

    for i in range(4):
        work.send(i)
    start_worker(broker)
    broker.join(queue_name, fail_fast=False, timeout=10_000)
    wait_for(lambda: len(broker.dead_letters) == 1, message="one dead letter")

    def value(name: str) -> float:
        return sample(prometheus, name, queue_name, "work")

    wait_for(lambda: value("taskq_message_rejects_total") == 1, message="reject counted")
    assert value("taskq_messages_total") == 6  # 4 first attempts + 2 retries
    assert value("taskq_message_errors_total") == 3
    assert value("taskq_message_retries_total") == 2
    assert value("taskq_message_duration_milliseconds_count") == 6
    assert value("taskq_messages_inprogress") == 0
    assert value("taskq_delayed_messages_inprogress") == 0


def test_the_grafana_dashboard_only_queries_exported_metrics():
    import json
    import re
    from pathlib import Path

    from taskq.broker import MessageProxy
    from taskq.message import Message

    prometheus = Prometheus()
    broker = StubBroker(middleware=[prometheus])
    message = MessageProxy(Message("q.DQ", "work"))
    prometheus.before_delay_message(broker, message)  # give every metric a labelled sample
    prometheus.before_process_message(broker, message)
    prometheus.after_process_message(broker, message, exception=ValueError())
    prometheus.after_enqueue(broker, message.message, 10)  # its retry
    prometheus.after_nack(broker, message)
    exported = {s.name for family in prometheus.registry.collect() for s in family.samples}
    path = Path(__file__).parents[3] / "examples" / "grafana" / "taskq-dashboard.json"
    panels = json.loads(path.read_text())["panels"]
    queried = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"taskq_[a-z_]+", target["expr"])
    }
    assert len(queried) >= 7
    assert queried <= exported, queried - exported


def test_taskq_works_without_prometheus_client():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "import taskq\n"
        "from taskq.brokers.stub import StubBroker\n"
        "from taskq.metrics.exposition import setup_multiprocess_dir\n"
        "names = [type(m).__name__ for m in StubBroker().middleware]\n"
        "assert 'Prometheus' not in names, names\n"
        "assert setup_multiprocess_dir() is None\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
