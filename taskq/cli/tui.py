"""``taskq tui``: the terminal control room (Textual is imported only when the command runs)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..constants import BROKER_URL_ENV, DEFAULT_BROKER_URL
from .connect import with_broker


def register(subparsers: Any) -> None:
    """Add the ``tui`` subcommand."""
    parser = subparsers.add_parser(
        "tui",
        help="terminal control room: workers, live messages, metrics, queues",
        description="Launch and watch workers, tail message events, browse queues and dead "
        "letters. Keys are listed in the footer; press ? for help.",
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help="modules with your actors")
    parser.add_argument("--broker", metavar="URL", help="broker URL (default: TASKQ_BROKER_URL)")
    parser.add_argument(
        "--read-only", action="store_true", help="disable every action that changes anything"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start demo workers and a gentle stream of messages on the embedded SQLite broker",
    )
    parser.add_argument(
        "--metrics",
        metavar="URL",
        action="append",
        help="Prometheus endpoint(s) to chart (default http://127.0.0.1:9191/metrics)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the TUI until the user quits; returns the exit code."""
    try:
        from taskq_tui.app import TaskqApp
        from taskq_tui.config import DEFAULT_METRICS_URL, TuiConfig
    except ModuleNotFoundError as e:
        print(f"taskq tui needs the 'tui' extra ({e.name} is missing): pip install 'taskq[tui]'")
        return 2
    url = args.broker or os.environ.get(BROKER_URL_ENV) or DEFAULT_BROKER_URL
    # Never show an unreachable or unauthorised broker as an empty one: one line naming the
    # (masked) URL and the reason, exit 3, before the app starts. SQLite: a read-only TUI only
    # inspects, so a missing database file is refused like an unreachable server; otherwise the
    # TUI launches workers and enqueues, so it creates the file and its folder (or says why it
    # cannot be used).
    code = with_broker(url, lambda broker: 0, must_exist=args.read_only and not args.demo)
    if code:
        return code
    config = TuiConfig(
        broker_url=url,
        modules=list(args.modules),
        read_only=args.read_only,
        demo=args.demo,
        metrics_urls=args.metrics or [DEFAULT_METRICS_URL],
    )
    app = TaskqApp(config)
    result = app.run()
    return int(result or 0)
