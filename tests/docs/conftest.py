"""After a run of the page sessions, show how many blocks each page runs and marks not run."""

from __future__ import annotations

from typing import Any

from .report import table


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    if any("test_pages.py::" in getattr(r, "nodeid", "") for r in reports):
        terminalreporter.write_sep("-", "docs: code blocks per page")
        terminalreporter.write_line(table())
