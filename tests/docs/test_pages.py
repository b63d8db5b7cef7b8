"""Every page of the docs (and the README) runs as written, as one reader's session.

Each page runs in a fresh folder with a clean environment (see :mod:`tests.docs.session`):
Python and shell blocks in order, ``# name.py`` blocks written as files, workers and blocks
"in another terminal" in the background, stopped at the end with SIGTERM (exit 0 required).
A block the page marks ``<!-- not run: REASON -->`` is not run; install commands are skipped
(their count is in the test id) and the README's is run for real by ``test_readme_install``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .blocks import ROOT, Block, markdown_files, parse_blocks
from .isolation import (
    create_vhost,
    delete_vhost,
    flush_redis,
    uses_rabbitmq,
    uses_redis,
    vhosts_created,
)
from .session import PYTHON, SHELL, PageFailed, Session
from .shell import steps

PAGES = markdown_files()


def runnable(block: Block) -> bool:
    """A block the page session runs: Python or shell, not marked, not an included file."""
    return block.lang in PYTHON | SHELL and not block.not_run and not block.snippets


def installs(page: Path) -> int:
    return sum(
        step.kind == "install"
        for block in parse_blocks(page)
        if runnable(block)
        for step in steps(block.code)
    )


def page_id(page: Path) -> str:
    name = str(page.relative_to(ROOT))
    skipped = installs(page)
    return f"{name}-skips-{skipped}-install" if skipped else name


def run_blocks(session: Session, blocks: list[Block]) -> Session:
    """Run the runnable ``blocks`` in ``session``, then stop its background commands; a
    failure names the block, and what the background commands said if they failed too."""
    failure: BaseException | None = None
    try:
        for block in blocks:
            if runnable(block):
                session.run(block)
    except BaseException as e:
        failure = e
    try:
        session.close()
    except PageFailed as e:
        if failure is None:
            raise
        raise PageFailed(f"{failure}\n\nand when stopping the background commands:\n{e}") from e
    if failure is not None:
        raise failure
    return session


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    text = page.read_text()
    redis, rabbitmq = uses_redis(text), uses_rabbitmq(text)
    if redis:
        flush_redis()
    if rabbitmq:
        create_vhost()
    for vhost in vhosts_created(text):
        delete_vhost(vhost)
    try:
        session = run_blocks(Session(tmp_path / "page", tmp_path / "logs"), parse_blocks(page))
    finally:
        if redis:
            flush_redis()
        if rabbitmq:
            delete_vhost()
        for vhost in vhosts_created(text):
            delete_vhost(vhost)
    expected = sum(runnable(b) for b in parse_blocks(page))
    assert len(session.ran) == expected
