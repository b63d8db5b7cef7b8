"""The ``taskq`` command. Each subcommand lives in its own module exposing
``register(subparsers)`` (adds its parser, with ``func`` set to a ``run(args) -> int``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from .. import __version__

#: Subcommand modules, in the order ``taskq --help`` lists them.
SUBCOMMANDS = ["worker", "demo", "info", "events", "enqueue", "tui"]

EPILOG = """examples:
  taskq demo                               run a demo job end to end on the embedded SQLite broker
  taskq worker myapp -p 2 -t 8             run myapp's actors in 2 processes x 8 threads
  taskq worker myapp --broker redis://127.0.0.1:6379/0
  taskq info --broker redis://127.0.0.1:6379/0      queue depths and live workers
  taskq events                             live tail of message lifecycle events
  taskq enqueue add '[1, 2]'               send a message to the actor "add" by name
  taskq tui myapp                          the terminal control room
"""


class ArgumentParser(argparse.ArgumentParser):
    """Exit 2 with a one-line reason on bad arguments (argparse's usage dump goes to --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``taskq`` parser with every available subcommand."""
    parser = ArgumentParser(
        prog="taskq",
        description="Background jobs for Python: workers, inspection and tools.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    parser.add_argument("--version", action="version", version=f"taskq {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=ArgumentParser
    )
    for name in SUBCOMMANDS:
        import_module(f".{name}", __name__).register(subparsers)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``taskq`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in _subcommands(parser):
        argv.insert(0, "worker")  # `taskq MODULE ...`, as Dramatiq's `dramatiq MODULE ...`
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
