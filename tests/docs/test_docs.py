"""Every code block of docs/*.md and README.md is checked, so the docs cannot rot:

- python and shell blocks run, page by page, as a reader would run them (``test_pages.py``);
  a block that cannot run carries a visible ``<!-- not run: REASON -->`` mark; the old
  compile-only ``<!-- fragment -->`` mark is refused;
- shell blocks: each ``taskq ...`` command line must also be accepted by
  ``taskq.cli.build_parser()`` (this covers the blocks marked not run too);
- json blocks must parse, and those shaped like a message must decode as one;
- ``--8<-- "file"`` includes must name an existing file that a test runs;
- any other language is an error, so nothing unchecked slips in.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

import taskq
from taskq.cli import build_parser

from .blocks import DOCS, ROOT, Block, all_blocks, markdown_files, parse_blocks
from .shell import taskq_commands

BLOCKS = all_blocks()
SHELL = {"bash", "console", "sh", "shell"}
#: Output and data blocks, checked as far as their format allows.
DATA = {"text", "json", "yaml", "toml"}
WIRE_FIELDS = {"queue_name", "actor_name", "args", "kwargs", "options", "message_id"}


def blocks_of(*langs: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang in langs and not b.snippets]


def ids(blocks: list[Block]) -> list[str]:
    return [b.where for b in blocks]


PYTHON = blocks_of("python", "py")
SHELL_BLOCKS = blocks_of(*SHELL)
JSON = blocks_of("json")
SNIPPETS = [b for b in BLOCKS if b.snippets]


def test_the_docs_have_blocks_of_every_kind() -> None:
    assert PYTHON and SHELL_BLOCKS and JSON and SNIPPETS


def test_every_block_has_a_checked_language() -> None:
    unchecked = [
        f"{b.where} ({b.lang or 'no language'})"
        for b in BLOCKS
        if not b.snippets and b.lang not in {"python", "py", *SHELL, *DATA}
    ]
    assert not unchecked, f"blocks no test checks (include them as snippets instead): {unchecked}"


def test_no_block_is_a_mere_fragment() -> None:
    """A block is run, or marked not run with a reason; compiling it proved nothing."""
    fragments = [b.where for b in BLOCKS if b.fragment]
    assert not fragments, f"make these blocks runnable or mark them not run: {fragments}"


def test_blocks_marked_not_run_are_few() -> None:
    """The marks are exceptions: at most one runnable block in ten carries one."""
    code = [b for b in BLOCKS if b.lang in {"python", "py", *SHELL} and not b.snippets]
    marked = [b.where for b in code if b.not_run]
    assert len(marked) * 10 <= len(code), f"{len(marked)} of {len(code)} marked: {marked}"


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=ids(SHELL_BLOCKS))
def test_shell_block_taskq_commands_parse(block: Block) -> None:
    parser = build_parser()
    for argv in taskq_commands(block.code):
        try:
            parser.parse_args(argv)
        except SystemExit as e:
            pytest.fail(f"{block.where}: `taskq {' '.join(argv)}` is rejected (exit {e.code})")


@pytest.mark.parametrize("block", JSON, ids=ids(JSON))
def test_json_block(block: Block) -> None:
    data = json.loads(block.code)
    if isinstance(data, dict) and set(data) >= WIRE_FIELDS:
        taskq.Message.from_dict(data)


@pytest.mark.parametrize("block", blocks_of("yaml"), ids=ids(blocks_of("yaml")))
def test_yaml_block(block: Block) -> None:
    import yaml  # the dev extra installs PyYAML

    yaml.safe_load(block.code)


@pytest.mark.parametrize("block", blocks_of("toml"), ids=ids(blocks_of("toml")))
def test_toml_block(block: Block) -> None:
    tomllib.loads(block.code)


def _tested(path: Path) -> bool:
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    return path.name in sources or f'"{path.stem}"' in sources


@pytest.mark.parametrize("block", SNIPPETS, ids=ids(SNIPPETS))
def test_snippets_include_existing_tested_files(block: Block) -> None:
    for name in block.snippets:
        path = ROOT / name
        assert path.is_file(), f"{block.where}: includes {name}, which does not exist"
        assert _tested(path), f"{block.where}: includes {name}, which no test runs"


def test_tests_cli_parsing_catches_bad_commands() -> None:
    """The shell check is not vacuous: a wrong option is reported."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(taskq_commands("taskq worker app --no-such-option")[0])


#: Pages other engineers write; links to them are allowed before they land.
PENDING_PAGES = {"reliability.md"}
_LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")


def test_relative_links_point_at_pages() -> None:
    broken = []
    for page in DOCS.rglob("*.md"):
        for target, _ in _LINK.findall(page.read_text()):
            if "://" in target or Path(target).name in PENDING_PAGES:
                continue
            if not (page.parent / target).is_file():
                broken.append(f"{page.name} -> {target}")
    assert not broken, f"broken links: {broken}"


def test_mkdocs_nav_lists_every_page() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w/-]+\.md)\s*$", config, re.MULTILINE))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - listed == set(), "pages missing from the mkdocs.yml nav"
    missing = {p for p in listed - pages if Path(p).name not in PENDING_PAGES}
    assert not missing, f"nav entries without a page: {missing}"


_REDIS_URL = re.compile(r"rediss?://[^\s\"')]+")
_AMQP_LOCAL = re.compile(r"amqps?://[^\s\"')]*127\.0\.0\.1:5672/([^\s\"')?;]*)")


def test_runnable_blocks_reach_only_isolated_server_names() -> None:
    """The page sessions rewrite only Redis database 0 and the vhost %2F on 127.0.0.1 (see
    tests/docs/isolation.py); a block naming anything else would share other tests' names."""
    from .isolation import REDIS_DB, VHOST, isolate, vhosts_created

    leaks = []
    for page in markdown_files():
        created = {VHOST, *vhosts_created(page.read_text())}
        for block in parse_blocks(page):
            if block.lang not in {"python", "py", *SHELL} or block.not_run or block.snippets:
                continue
            code = isolate(block.code)
            leaks += [
                f"{block.where}: {url}"
                for url in _REDIS_URL.findall(code)
                if f"127.0.0.1:6379/{REDIS_DB}" not in url
            ]
            leaks += [
                f"{block.where}: vhost {v}" for v in _AMQP_LOCAL.findall(code) if v not in created
            ]
    assert not leaks, f"server names the docs tests do not isolate: {leaks}"
