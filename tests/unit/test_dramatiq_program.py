"""The Dramatiq program in examples/ runs on taskq, and on Dramatiq with the same output."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[2] / "examples" / "dramatiq_program.py"
EXPECTED = [
    "add: 3",
    "pipeline: 7",
    "group: [0, 1, 4, 9, 16]",
    "group completed: 5 of 5",
    "retries: ok after 3 attempts",
    "failure: ValueError this actor always fails",
    "rate limited: 42",
    "group callback ran: ['done']",
    "dead letters: ['broken']",
]


def run(path: Path) -> list[str]:
    completed = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout.splitlines()


def test_the_program_runs_on_taskq_and_prints_its_results():
    assert run(PROGRAM) == EXPECTED


def test_outside_its_docstring_only_import_lines_name_taskq():
    source = PROGRAM.read_text()
    code = source[source.index('"""', 3) + 3 :]
    mentions = [line for line in code.splitlines() if "taskq" in line]
    assert mentions, "the program imports taskq"
    for line in mentions:
        assert re.match(r"(import taskq as dramatiq|from taskq[.\w]* import )", line), line


def test_the_same_program_on_dramatiq_prints_the_same(tmp_path):
    if importlib.util.find_spec("dramatiq") is None:
        pytest.skip("dramatiq is not installed")
    ported = tmp_path / "on_dramatiq.py"
    source = PROGRAM.read_text()
    ported.write_text(re.sub(r"\btaskq\b", "dramatiq", source))
    assert run(ported) == EXPECTED
