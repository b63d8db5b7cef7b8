"""``taskq events``: a live, coloured tail of message lifecycle events."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..common import mask_url
from ..events.schema import EventKind, EventRecord
from ..events.subscription import history, subscribe
from .connect import EXIT_OK, add_broker_argument, broker_url, with_broker

if TYPE_CHECKING:
    from ..broker import Broker

STYLES: dict[str, str] = {
    EventKind.ENQUEUED: "cyan",
    EventKind.STARTED: "blue",
    EventKind.SUCCEEDED: "green",
    EventKind.FAILED: "red",
    EventKind.RETRIED: "yellow",
    EventKind.DEAD_LETTERED: "bold red",
    EventKind.SKIPPED: "magenta",
}


def register(subparsers: Any) -> None:
    """Add the ``events`` subcommand."""
    parser = subparsers.add_parser(
        "events",
        help="live tail of message lifecycle events",
        description="Follow enqueued / started / succeeded / failed / retried / dead_lettered "
        "/ skipped events as workers publish them (workers need the Events middleware or "
        "TASKQ_EVENTS=1). Stops on Ctrl-C or SIGTERM with exit code 0.",
    )
    add_broker_argument(parser)
    parser.add_argument("--queue", metavar="Q", help="only events of queue Q")
    parser.add_argument("--actor", metavar="A", help="only events of actor A")
    parser.add_argument("--last", type=int, default=0, metavar="N", help="first show N past events")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def format_event(event: dict[str, Any]) -> str:
    """One event as a line of rich markup."""
    from rich.markup import escape

    record = EventRecord.from_dict(event)
    kind, extra = str(event.get("event", "?")), record.extra
    style = STYLES.get(kind, "white")
    when = datetime.fromtimestamp(record.timestamp / 1000).strftime("%H:%M:%S.%f")
    detail = ""
    if kind in (EventKind.ENQUEUED, EventKind.STARTED):
        detail = f"args={extra.get('args')} kwargs={extra.get('kwargs')}"
    elif kind == EventKind.SUCCEEDED:
        detail = f"{extra.get('duration_ms')} ms"
        if "result" in extra:
            detail += f" → {extra['result']}"
    elif kind == EventKind.FAILED:
        detail = f"{extra.get('exception_type')}: {extra.get('exception')}"
    elif kind == EventKind.RETRIED:
        detail = f"retry #{extra.get('retries')}"
    elif kind == EventKind.DEAD_LETTERED:
        lines = str(extra.get("reason", "")).strip().splitlines()
        detail = lines[-1] if lines else ""
    return (
        f"[dim]{when[:-3]}[/dim] [{style}]{kind:<13}[/{style}] "
        f"{escape(str(event.get('queue_name')))}/{escape(str(event.get('actor_name')))} "
        f"[dim]{str(event.get('message_id'))[:8]}[/dim] {escape(str(detail))} "
        f"[dim]{escape(record.worker)}[/dim]"
    )


def run(args: argparse.Namespace) -> int:
    """Tail events until SIGINT or SIGTERM."""

    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)

    url = broker_url(args)

    def tail(broker: Broker) -> int:
        from rich.console import Console

        console = Console(highlight=False)

        def show(event: dict[str, Any]) -> None:
            if args.json:
                sys.stdout.write(json.dumps(event, default=str) + "\n")
                sys.stdout.flush()
            else:
                console.print(format_event(event))

        subscription = subscribe(broker, queue=args.queue, actor=args.actor, timeout=200)
        try:
            if not args.json:
                console.print(f"[dim]Following events on {mask_url(url)} (Ctrl-C to stop)[/dim]")
            if args.last:
                for event in history(broker, args.last, queue=args.queue, actor=args.actor):
                    show(event)
            while not stop.is_set():
                polled = subscription.poll()
                if polled is not None:
                    show(polled)
        finally:
            subscription.close()
        return EXIT_OK

    return with_broker(url, tail, must_exist=True)
