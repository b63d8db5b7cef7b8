"""The examples that need no server (SQLite, the stub broker, a local HTTP server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .support import run_example


def test_hello_runs_a_real_worker_and_stops_it_gracefully(tmp_path: Path) -> None:
    out = run_example("hello.py", cwd=tmp_path).stdout
    for name in ("Ada", "Grace", "Linus"):
        assert f"Hello, {name}!" in out
    assert "worker exited with code 0" in out
    assert not (tmp_path / ".taskq").exists(), "the example must not touch the current directory"


def test_results_fetches_a_value_and_a_failure(tmp_path: Path) -> None:
    out = run_example("results.py", cwd=tmp_path).stdout
    assert "no result yet" in out
    assert "6 x 7 = 42" in out
    assert "divide(1, 0) failed: ZeroDivisionError: division by zero" in out


def test_pipelines_and_groups_compute_their_results(tmp_path: Path) -> None:
    out = run_example("pipelines_and_groups.py", cwd=tmp_path).stdout
    assert "(1 + 2)^2 + 10 = 19" in out
    assert "(2 + 3)^2 = 25" in out
    assert "squares: [0, 1, 4, 9, 16]" in out
    assert "sum of squares: 30" in out
    assert "every add() finished" in out


def test_retries_then_dead_letters(tmp_path: Path) -> None:
    out = run_example("retries_and_dead_letters.py", cwd=tmp_path).stdout
    assert "order 1 charged on attempt 3" in out
    assert "broken ran 3 times, strict ran 1 time(s)" in out
    assert re.search(r"dead letter: broken\(2\) -- .*ValueError: order 2 has no customer", out)
    assert re.search(r"dead letter: strict\('missing'\) -- .*KeyError", out)
    assert "requeued 1 message(s)" in out
    assert "purged 1 dead letter(s)" in out


def test_time_limit_abort_and_shutdown_are_caught_by_the_actors(tmp_path: Path) -> None:
    out = run_example("time_limits_and_shutdown.py", cwd=tmp_path).stdout
    assert "crunch: stopped by its 300 ms time limit" in out
    assert "report: aborted" in out
    assert "export: worker shutting down, checkpoint saved" in out
    assert "worker exited with code 0" in out


def test_current_message_is_visible_inside_the_actor(tmp_path: Path) -> None:
    out = run_example("current_message.py", cwd=tmp_path).stdout
    assert "outside an actor: None" in out
    ids = re.findall(r"charge\(42\): message (\S+), attempt (\d)", out)
    assert [attempt for _, attempt in ids] == ["1", "2"]
    assert ids[0][0] == ids[1][0], "the message id must be stable across retries"
    assert f"idempotency key {ids[0][0]}" in out


def test_gevent_crawler_fetches_every_page(tmp_path: Path) -> None:
    pytest.importorskip("gevent")
    out = run_example("gevent_crawler.py", cwd=tmp_path).stdout
    assert "page /page/0: 1053 bytes" in out
    assert "fetched 30 pages" in out
    assert "worker exited with code 0" in out


def test_prometheus_example_scrapes_the_worker_metrics(tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client")
    out = run_example("prometheus_metrics.py", cwd=tmp_path).stdout
    assert 'taskq_messages_total{actor_name="resize",queue_name="default"} 20.0' in out
    assert 'taskq_message_errors_total{actor_name="resize",queue_name="default"} 4.0' in out
    assert 'taskq_message_rejects_total{actor_name="resize",queue_name="default"} 4.0' in out
    assert "worker exited with code 0" in out
