"""Workers tab against real `taskq worker` processes on a SQLite broker in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskq_tui.views.workers import WorkersView

from .pilot_helpers import JOBS_MODULE, table_column, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


@pytest.fixture
def jobs_module(tmp_path: Path, queue_name: str) -> str:
    """A module of actors importable by workers started in tmp_path."""
    (tmp_path / "tui_jobs.py").write_text(JOBS_MODULE.format(queue=queue_name))
    return "tui_jobs"


async def test_launch_reload_and_stop_a_group(make_app: Any, jobs_module: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.focused is app.query_one("#message-table"))
        await pilot.press("1")
        await wait_until(pilot, lambda: app.focused is app.query_one("#process-table"))
        await pilot.click("#gf-modules")
        await pilot.press(*jobs_module)
        assert app.query_one("#gf-modules").value == jobs_module
        app.query_one("#gf-processes").value = "2"
        app.query_one("#gf-threads").value = "2"
        await pilot.click("#gf-launch")
        group = await wait_until(pilot, lambda: app.worker_groups.get("g1"), message="group g1")
        children = await wait_until(
            pilot, lambda: len(group.child_pids()) == 2 and group.child_pids(), message="2 workers"
        )
        master = group.pid
        shown = await wait_until(
            pilot,
            lambda: (
                set(map(str, [master, *children])) <= set(table_column(app, "#process-table", 2))
                and table_column(app, "#process-table", 2)
            ),
            message="PIDs in the table",
        )
        assert str(master) in shown

        app.query_one("#process-table").focus()
        await pilot.press("h")  # HUP: fresh workers, same master
        fresh = await wait_until(
            pilot,
            lambda: (
                len(group.child_pids()) == 2
                and not set(group.child_pids()) & set(children)
                and group.child_pids()
            ),
            message="new worker PIDs after HUP",
        )
        assert group.pid == master and group.running
        await wait_until(
            pilot,
            lambda: set(map(str, fresh)) <= set(table_column(app, "#process-table", 2)),
            message="new PIDs shown",
        )

        await pilot.press("t")  # TERM: graceful stop, exit code 0 with its meaning
        await wait_until(pilot, lambda: group.returncode is not None, message="master exit")
        assert group.returncode == 0
        states = await wait_until(
            pilot,
            lambda: (
                any("exited 0 (graceful stop)" in s for s in table_column(app, "#process-table", 3))
                and table_column(app, "#process-table", 3)
            ),
            message="exit code shown",
        )
        assert states == ["exited 0 (graceful stop)"]
        assert "graceful stop" in str(app.query_one("#group-log").render())


async def test_quit_stops_groups_started_by_the_tui(make_app: Any, jobs_module: str) -> None:
    from taskq_tui.worker_groups import GroupSpec

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        group = app.query_one(WorkersView).launch(GroupSpec([jobs_module], processes=1, threads=1))
        await wait_until(pilot, lambda: group.child_pids(), message="a worker process")
        await pilot.press("q")
        await wait_until(pilot, lambda: group.returncode is not None, message="group stopped")
    assert group.returncode == 0


async def test_restart_a_group_with_one_more_then_one_fewer_process(
    make_app: Any, jobs_module: str
) -> None:
    from taskq_tui.worker_groups import GroupSpec

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        first = app.query_one(WorkersView).launch(GroupSpec([jobs_module], processes=1, threads=1))
        await wait_until(pilot, lambda: len(first.child_pids()) == 1, message="1 worker")
        await pilot.press("1")
        await wait_until(pilot, lambda: app.focused is app.query_one("#process-table"))

        await pilot.press("plus")  # graceful stop, then the same group with 2 processes
        await wait_until(pilot, lambda: first.returncode is not None, message="old master exit")
        assert first.returncode == 0
        second = await wait_until(
            pilot,
            lambda: app.worker_groups["g1"] is not first and app.worker_groups["g1"],
            message="the restarted group",
        )
        await wait_until(pilot, lambda: len(second.child_pids()) == 2, message="2 workers")
        assert second.spec.processes == 2 and second.pid != first.pid
        await wait_until(
            pilot,
            lambda: table_column(app, "#process-table", 1).count("worker") == 2,
            message="2 worker rows",
        )

        await pilot.press("minus")  # and back to 1
        await wait_until(pilot, lambda: second.returncode == 0, message="second master exit")
        third = await wait_until(
            pilot,
            lambda: app.worker_groups["g1"] is not second and app.worker_groups["g1"],
            message="the group restarted again",
        )
        await wait_until(pilot, lambda: len(third.child_pids()) == 1, message="1 worker again")
        assert third.spec.processes == 1
        assert list(app.worker_groups) == ["g1"]
