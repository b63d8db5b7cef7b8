"""Rich reprs: HTML tables in Jupyter, readable text elsewhere, for messages, groups,
pipelines, results and the watch / queues views."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import taskq
from taskq.notebook import result


def test_message_repr_has_html_and_text(actors: SimpleNamespace) -> None:
    message = actors.add.message(1, y=2)

    bundle = message._repr_mimebundle_()

    assert bundle["text/plain"].startswith("taskq.Message add(1, y=2)")
    assert message.message_id in bundle["text/plain"]
    assert bundle["text/html"].startswith("<table>")
    assert "<caption>taskq.Message: add(1, y=2)</caption>" in bundle["text/html"]
    assert message.message_id in bundle["text/html"]


def test_group_and_pipeline_reprs_list_their_members(actors: SimpleNamespace) -> None:
    jobs = taskq.group(actors.add.message(i) for i in range(60))
    pipe = actors.add.message(1) | actors.add.message(2) | jobs

    group_bundle = jobs._repr_mimebundle_()
    assert "taskq.group (60)" in group_bundle["text/html"]
    assert jobs.children[0].message_id in group_bundle["text/html"]
    assert "… and 10 more" in group_bundle["text/html"]
    assert group_bundle["text/plain"].splitlines()[1].split() == [
        "0",
        jobs.children[0].message_id,
        "add(0)",
    ]
    assert repr(jobs).startswith("group(60 members: group([add(0), add(1)")

    pipe_bundle = pipe._repr_mimebundle_()
    assert (
        "taskq.pipeline (3)" in pipe_bundle["text/html"]
        and "group of 60" in pipe_bundle["text/html"]
    )
    assert "add(2)" in pipe_bundle["text/plain"]
    assert repr(pipe).startswith("pipeline(3 steps: add(1) | add(2) | group(")


def test_result_view_shows_values_errors_and_pending(
    sqlite_broker: taskq.Broker, actors: SimpleNamespace, worker: Any
) -> None:
    ok, bad = actors.add.send(2, 3), actors.explode.send(1)

    view = result([ok, bad], block=True, timeout=30_000)

    assert [row.status for row in view.rows] == ["succeeded", "failed"]
    assert view.value == [5, None]
    assert "ValueError: boom 1" in view._repr_html_() and ">5<" in view._repr_html_()
    assert "succeeded" in repr(view) and "ValueError: boom 1" in repr(view)
    worker.stop(timeout=30_000)
    pending = actors.add.send(1)
    assert result(pending).rows[0].status == "pending"
    assert result(ok).value == 5
