"""The README's first block, for real: a fresh venv and ``pip install -e ".[all]"`` in a clean
clone of the project (its last commit), then ``taskq demo``, then the README's first job
with that venv's ``taskq`` and ``python``. The page sessions skip install commands (``test_pages.py``); this
is the one place where they run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .blocks import ROOT, parse_blocks
from .session import SHELL, Session, clean_env
from .test_pages import run_blocks

INSTALL_TIMEOUT_S = 240


def clone(target: Path) -> Path:
    """A fresh clone of the project: its committed files, nothing built or installed."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


def reader_path() -> str:
    """The test's PATH without the project's venv: the README makes and activates its own."""
    ours = str(Path(sys.executable).parent)
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)


@pytest.mark.slow
def test_readme_install_line_then_first_job(tmp_path: Path) -> None:
    project = clone(tmp_path / "taskq")
    blocks = parse_blocks(project / "README.md")
    first = blocks[0]
    assert first.lang in SHELL and "pip install" in first.code, "the README starts elsewhere"
    env = {**clean_env(tmp_path), "PATH": reader_path()}
    done = subprocess.run(
        ["bash", "-c", "set -e\n" + first.code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{first.where} exited with {done.returncode}\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
    )
    venv_bin = project / ".venv" / "bin"
    session = Session(tmp_path / "page", tmp_path / "logs", venv_bin=venv_bin)
    run_blocks(session, blocks[1:])
    taskq = shutil.which("taskq", path=session.env["PATH"])
    assert taskq == str(venv_bin / "taskq"), "the session did not use the fresh venv"
