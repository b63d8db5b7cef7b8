"""Find the fenced code blocks of the Markdown docs, with the HTML-comment marks above them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Mark a block as deliberately partial: it is compiled, not run.
FRAGMENT = "<!-- fragment -->"
SNIPPET = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"([^"]+)"\s*$')
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and whether it is a fragment."""

    path: Path
    line: int
    lang: str
    code: str
    fragment: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

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


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``; a block is a fragment when the last non-blank line above
    it is ``<!-- fragment -->``."""
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
        blocks.append(
            Block(path, i + 1, opening["lang"].lower(), "\n".join(body) + "\n", above == FRAGMENT)
        )
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in parse_blocks(path)]
