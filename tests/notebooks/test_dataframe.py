"""watch(): to_dataframe(), failures collapsed to one line with their traceback, rate."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

import taskq
from taskq.notebook import watch
from taskq.notebook._widget_views import WatchWidget


def test_to_dataframe_has_one_row_per_message_in_the_order_sent(
    actors: SimpleNamespace, worker: Any, widgets_on: None
) -> None:
    pd = pytest.importorskip("pandas")
    jobs = taskq.group(
        [*(actors.add.message(i, y=1) for i in range(20)), actors.explode.message(7)]
    ).run()
    view = watch(jobs)
    assert view.wait(timeout=30_000)

    frame = view.to_dataframe()

    assert list(frame.columns) == [
        "id",
        "actor",
        "args",
        "kwargs",
        "status",
        "result",
        "error",
        "started",
        "finished",
        "duration_ms",
    ]
    assert list(frame.id) == [m.message_id for m in jobs.children]
    assert list(frame.actor) == ["add"] * 20 + ["explode"]
    assert frame.args[3] == [3] and frame.kwargs[3] == {"y": 1}
    assert list(frame.result[:20]) == [i + 1 for i in range(20)]
    failed = frame.iloc[20]
    assert failed.status == "failed" and "ValueError: boom 7" in failed.error
    assert pd.isna(failed.result)
    # Start and finish times come from the workers' events (UTC), durations in ms.
    assert str(frame.started.dt.tz) == "UTC" and frame.started.notna().all()
    assert (frame.finished >= frame.started).all()
    assert frame.duration_ms.notna().all() and (frame.duration_ms >= 0).all()


def test_to_dataframe_without_pandas_says_how_to_install_it(
    actors: SimpleNamespace, worker: Any, widgets_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = watch([actors.add.send(1, 1)])
    assert view.wait(timeout=30_000)
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed

    with pytest.raises(ImportError, match="pip install pandas"):
        view.to_dataframe()
    assert view.to_records()[0]["result"] == 2  # plain dicts need nothing


def test_failures_collapse_to_one_line_each_with_the_traceback_a_click_away(
    actors: SimpleNamespace, worker: Any, widgets_on: None
) -> None:
    messages = [actors.explode.send(i) for i in range(3)] + [actors.add.send(1, 2)]
    view = watch(messages)
    assert view.wait(timeout=30_000)
    view.tracker.wait_settled()

    failures = view.failures_html()
    assert failures.count("<details") == 3 and failures.count("<summary>") == 3
    for i in range(3):
        assert f"explode({i}): " in failures and f"boom {i}" in failures
    assert "Traceback (most recent call last)" in failures  # inside the <details> body
    widget = view._view
    assert isinstance(widget, WatchWidget)
    assert widget.failures.value.count("<details") == 3
    assert "<details" in view.to_html()
    # Rate once done; an ETA only while running.
    assert "/s · " in view.summary_text() and "ETA" not in view.summary_text()
