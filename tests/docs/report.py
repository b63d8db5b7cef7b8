"""How many blocks each page runs, and how many it marks not run (``python -m tests.docs.report``).

- **run**: Python and shell blocks the page session runs (``# name.py`` blocks are written);
- **not run**: blocks with a ``<!-- not run: REASON -->`` mark, listed with their reason;
- **included**: ``--8<--`` includes of example programs, which ``tests/examples`` runs;
- **installs skipped**: install commands the page session skips (``test_readme_install`` runs
  the README's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .blocks import ROOT, markdown_files, parse_blocks
from .session import PYTHON, SHELL
from .shell import steps


@dataclass
class PageCount:
    page: str
    run: int = 0
    included: int = 0
    installs_skipped: int = 0
    not_run: list[str] = field(default_factory=list)


def count(page: Path) -> PageCount:
    result = PageCount(str(page.relative_to(ROOT)))
    for block in parse_blocks(page):
        if block.lang not in PYTHON | SHELL:
            continue
        if block.snippets:
            result.included += 1
        elif block.not_run:
            result.not_run.append(f"line {block.line}: {block.not_run}")
        else:
            result.run += 1
            result.installs_skipped += sum(s.kind == "install" for s in steps(block.code))
    return result


def table() -> str:
    rows = [count(page) for page in markdown_files()]
    lines = [f"{'page':36} {'run':>4} {'not run':>8} {'included':>9} {'installs skipped':>17}"]
    for r in rows:
        lines.append(
            f"{r.page:36} {r.run:>4} {len(r.not_run):>8} {r.included:>9} {r.installs_skipped:>17}"
        )
        lines.extend(f"    not run, {reason}" for reason in r.not_run)
    lines.append(
        f"{'total':36} {sum(r.run for r in rows):>4} {sum(len(r.not_run) for r in rows):>8} "
        f"{sum(r.included for r in rows):>9} {sum(r.installs_skipped for r in rows):>17}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
