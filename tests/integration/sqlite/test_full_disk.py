"""A full disk: producers get a clear error, workers still drain the queue, one log line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a small tmpfs privately")
def test_workers_drain_a_full_disk_and_say_so_once(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=16m tmpfs {disk} && "
        f"{sys.executable} -m tests.integration.sqlite.full_disk_app {disk}"
    )
    child = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    counts = dict(pair.split("=") for pair in child.stdout.split())
    assert int(counts["sent"]) > 100
    assert counts["ran"] == counts["distinct"] == counts["sent"]
    assert counts["integrity"] == "ok"
    assert "refused after" in child.stderr and "full" in child.stderr
    assert child.stderr.count("released the 4 MiB kept in reserve") == 1
    assert "Traceback" not in child.stderr
