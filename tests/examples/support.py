"""Run the programs under examples/ as a user would: ``python examples/<name>.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_env(**extra: str) -> dict[str, str]:
    """The test's environment without a broker URL of its own, metrics on a free port."""
    env = {k: v for k, v in os.environ.items() if k != "TASKQ_BROKER_URL"}
    env["taskq_prom_port"] = "0"  # several workers at once must not fight over port 9191
    env.update(extra)
    return env


def run_example(
    name: str, *args: str, cwd: Path | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` to completion; fail the test with its output if it exits non-zero."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=example_env(**env),
    )
    assert result.returncode == 0, (
        f"{name} exited {result.returncode}\n--- stdout\n{result.stdout}\n"
        f"--- stderr\n{result.stderr[-4000:]}"
    )
    return result
