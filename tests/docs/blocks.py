"""Find the fenced code blocks of the Markdown docs, with the HTML-comment mark above them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: ``<!-- not run: REASON -->`` above a block: the page session does not run it, and says why.
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->$")
#: The old mark (compile only); it is refused now, see ``test_no_block_is_a_mere_fragment``.
FRAGMENT = "<!-- fragment -->"
SNIPPET = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"([^"]+)"\s*$')
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
#: A Python block whose first line is ``# name.py`` is that file, not a program to run.
_FILENAME = re.compile(r"^#\s*(?P<name>[\w./-]+\.py)\s*$")


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and the prose just above it."""

    path: Path
    line: int
    lang: str
    code: str
    #: The last non-blank line above the opening fence (an HTML comment mark or prose).
    above: str
    #: The paragraph of prose above the block (joined lines), for "in another terminal".
    intro: str = ""

    @property
    def where(self) -> str:
        name = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{name}:{self.line}"

    @property
    def fragment(self) -> bool:
        return self.above == FRAGMENT

    @property
    def not_run(self) -> str | None:
        """The reason given in a ``<!-- not run: ... -->`` mark, if the block has one."""
        found = NOT_RUN.match(self.above)
        return found["reason"] if found else None

    @property
    def filename(self) -> str | None:
        """``tasks.py`` for a Python block that starts with ``# tasks.py``."""
        first = self.code.splitlines()[0] if self.code.strip() else ""
        found = _FILENAME.match(first.strip()) if self.lang in ("python", "py") else None
        return found["name"] if found else None

    @property
    def snippets(self) -> list[str]:
        """Files included by reference (``--8<-- "examples/x.py"``), if that is all it holds."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        found = [SNIPPET.match(line) for line in lines]
        if lines and all(found):
            return [m.group(1) for m in found if m]
        return []


def markdown_files() -> list[Path]:
    """docs/*.md (recursively) and README.md."""
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def _intro(lines: list[str], start: int) -> str:
    """The prose paragraph ending just above line ``start`` (marks skipped)."""
    j = start - 1
    while j >= 0 and (not lines[j].strip() or lines[j].strip().startswith("<!--")):
        j -= 1
    paragraph: list[str] = []
    while j >= 0 and lines[j].strip() and not _FENCE.match(lines[j]):
        paragraph.insert(0, lines[j].strip())
        j -= 1
    return " ".join(paragraph)


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        above = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        code = "\n".join(body) + "\n"
        blocks.append(Block(path, i + 1, opening["lang"].lower(), code, above, _intro(lines, i)))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in parse_blocks(path)]
