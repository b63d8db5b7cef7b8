"""``taskq MODULE ...`` is ``taskq worker MODULE ...``, as ``dramatiq MODULE ...`` is."""

from __future__ import annotations

import subprocess
import sys


def test_a_module_name_first_means_the_worker_command(tmp_path):
    child = subprocess.run(
        [sys.executable, "-m", "taskq", "no_such_module_here", "-p", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert child.returncode == 2
    assert child.stderr.startswith("taskq worker: error: cannot import module")


def test_subcommands_keep_their_meaning(tmp_path):
    child = subprocess.run(
        [sys.executable, "-m", "taskq", "info", "--broker", "stub://"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert child.returncode == 0, child.stderr
    assert "No live workers" in child.stdout
