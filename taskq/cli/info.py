"""``taskq info``: queue depths (ready, delayed, in flight, dead) and live workers."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..common import current_millis, mask_url
from .connect import EXIT_OK, add_broker_argument, broker_url, with_broker

if TYPE_CHECKING:
    from ..broker import Broker


# -- taskq info ---------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser(
        "info",
        help="queue depths and live workers",
        description="Show per-queue ready / delayed / in-flight / dead counts and the live "
        "workers (from their heartbeats). Queues are those the broker knows, those live "
        "workers consume and those named with --queue.",
    )
    add_broker_argument(parser)
    parser.add_argument(
        "--queue", action="append", default=[], metavar="Q", help="also show queue Q (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def collect_info(broker: Broker, extra_queues: list[str]) -> dict[str, Any]:
    """Queue stats and live workers of ``broker``."""
    workers = [w for w in broker.worker_heartbeats() if w.get("alive", True)]
    for name in extra_queues:
        broker.declare_queue(name)
    for worker in workers:
        for name in worker.get("queues") or []:
            if not name.endswith((".DQ", ".XQ")):
                broker.declare_queue(name)
    return {"queues": broker.queue_stats(), "workers": workers}


def run(args: argparse.Namespace) -> int:
    """Print the broker's queues and workers."""
    url = broker_url(args)

    def show(broker: Broker) -> int:
        info = {"broker": mask_url(url), **collect_info(broker, args.queue)}
        if args.json:
            print(json.dumps(info, default=str))
        else:
            _print_tables(info)
        return EXIT_OK

    return with_broker(url, show, must_exist=True)


def _print_tables(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]Broker[/bold] {info['broker']}")
    queues = Table(title="Queues", title_justify="left")
    for column in ("queue", "ready", "delayed", "in flight", "dead"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for name, stats in sorted(info["queues"].items()):
        dead = stats.get("dead", 0)
        queues.add_row(
            name,
            str(stats.get("ready", 0)),
            str(stats.get("delayed", 0)),
            str(stats.get("in_flight", 0)),
            f"[red]{dead}[/red]" if dead else "0",
        )
    console.print(queues if info["queues"] else "No queues found (name one with --queue).")
    workers = Table(title="Workers", title_justify="left")
    for column in ("worker", "host", "pid", "queues", "last seen"):
        workers.add_column(column)
    now = current_millis()
    for worker in info["workers"]:
        last_seen = worker.get("last_seen")
        seen = f"{(now - last_seen) / 1000:.1f}s ago" if isinstance(last_seen, int) else "?"
        if isinstance(last_seen, int) and last_seen > 10**12:
            seen += datetime.fromtimestamp(last_seen / 1000).strftime(" (%H:%M:%S)")
        workers.add_row(
            str(worker.get("worker_id", "?"))[:12],
            str(worker.get("hostname", "")),
            str(worker.get("pid", "")),
            ", ".join(worker.get("queues") or []),
            seen,
        )
    console.print(workers if info["workers"] else "No live workers.")
