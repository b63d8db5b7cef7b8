"""``--watch`` notices every save of a Python file, in both of its modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskq.supervisor.watch import FileWatcher

from ..helpers import wait_for

pytest.importorskip("watchfiles")


@pytest.mark.parametrize("polling", [False, True], ids=["events", "polling"])
def test_each_save_is_noticed_even_two_within_one_second(tmp_path: Path, polling: bool) -> None:
    module = tmp_path / "app.py"
    module.write_text("VERSION = 1\n")
    (tmp_path / "notes.txt").write_text("not Python")
    watcher = FileWatcher([str(tmp_path)], polling=polling)
    watcher.start()
    try:
        for version in (2, 3):  # saved back to back: the same wall-clock second, usually
            module.write_text(f"VERSION = {version}\n")
            changes = wait_for(watcher.take_changes, message=f"save {version} noticed")
            assert changes == [str(module)]
        (tmp_path / "notes.txt").write_text("still not Python")
        (tmp_path / "__pycache__").mkdir()
        (tmp_path / "__pycache__" / "ignored.py").write_text("")
        module.write_text("VERSION = 4\n")
        assert wait_for(watcher.take_changes, message="save 4 noticed") == [str(module)]
    finally:
        watcher.stop()
