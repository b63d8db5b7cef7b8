"""docs/cli.md is generated from the parsers; it must match what they print today."""

from __future__ import annotations

import importlib.util

from .blocks import DOCS


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", DOCS / "gen_cli_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    generator = load_generator()
    expected = generator.render()
    assert (DOCS / "cli.md").read_text() == expected, (
        "docs/cli.md is out of date: run python docs/gen_cli_reference.py"
    )


def test_cli_reference_documents_every_subcommand() -> None:
    from taskq.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    names = load_generator()._subcommands(parser)
    assert names, "the parser has no subcommands"
    for name in names:
        assert f"## taskq {name}\n" in text
        assert f"usage: taskq {name}" in text
