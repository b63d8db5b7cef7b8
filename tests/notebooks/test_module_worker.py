"""run_worker("module"): worker processes reloaded (HUP) when a Python file of the module's
folder is saved; the status shows the reload, the log tail and an import error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import taskq
from taskq.notebook import WorkerProcess, run_worker
from taskq.notebook._widget_views import StatusWidget
from taskq.notebook.reload import module_folders
from taskq.urls import broker_from_url

from ..helpers import wait_for

pytest.importorskip("watchfiles")

MODULE = """
import taskq
from helper_text import TEXT


@taskq.actor(store_results=True)
def version() -> str:
    return TEXT
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with a module of actors and a helper module it imports; SQLite in its own
    folder (outside the watched one)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "nb_reload_actors.py").write_text(MODULE)
    (folder / "helper_text.py").write_text('TEXT = "v1"\n')
    monkeypatch.setenv("TASKQ_BROKER_URL", f"sqlite:///{tmp_path / 'taskq.db'}")
    yield folder


def _version_now(broker: taskq.Broker, version: taskq.Actor[[], str]) -> str:
    return version.send().get_result(block=True, timeout=15_000)


def test_saving_a_helper_module_reloads_the_workers(
    project: Path, widgets_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = broker_from_url(f"sqlite:///{project.parent / 'taskq.db'}")

    @taskq.actor(broker=broker, actor_name="version", store_results=True)
    def version() -> str:  # the producer side: same name, the worker runs its own code
        raise AssertionError("runs in the worker")

    worker = run_worker("nb_reload_actors", threads=2, paths=[str(project)])
    assert isinstance(worker, WorkerProcess)
    widget = worker._view
    assert isinstance(widget, StatusWidget)
    try:
        assert _version_now(broker, version) == "v1"

        (project / "helper_text.py").write_text('TEXT = "v2"\n')  # saved from the editor
        wait_for(lambda: worker.reloads, timeout=20, message="a reload after the save")
        assert [Path(f).name for f in worker.reloads[0].files] == ["helper_text.py"]
        # Messages sent meanwhile may still meet the old workers: poll until the new code runs.
        wait_for(lambda: _version_now(broker, version) == "v2", timeout=60, message="v2 code")
        wait_for(lambda: "reloaded 1x" in widget.html.value, timeout=10, message="redraw")
        assert "helper_text.py" in worker.to_text()

        (project / "helper_text.py").write_text("TEXT = undefined_name\n")  # a broken save
        # The log is written as we read it: wait for the whole traceback.
        error = wait_for(
            lambda: "NameError: name" in (worker.import_error() or "") and worker.import_error(),
            timeout=30,
            message="the import error",
        )
        assert "NameError: name 'undefined_name' is not defined" in error
        wait_for(lambda: "import error" in widget.html.value, timeout=10, message="redraw")
        assert worker.running  # the master stays and retries

        (project / "helper_text.py").write_text('TEXT = "v3"\n')  # fixed
        wait_for(lambda: _version_now(broker, version) == "v3", timeout=60, message="v3 code")
        assert worker.import_error() is None  # started fine since
    finally:
        assert worker.stop(timeout=20_000) == 0
        broker.close()
    assert widget.stop_button.disabled and "exited with code 0" in widget.html.value


def test_module_folders_finds_modules_and_packages(tmp_path: Path) -> None:
    (tmp_path / "single.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    found = module_folders(["single", "pkg.sub:broker", "missing_module_xyz"], [str(tmp_path)])
    assert found == [str(tmp_path), str(tmp_path / "pkg")]
