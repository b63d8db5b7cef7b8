"""``taskq enqueue``: send a message to an actor by name, without importing its code."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..common import mask_url, validate_queue_name
from .info import EXIT_BAD_INPUT, EXIT_OK, add_broker_argument, broker_url, fail, with_broker

if TYPE_CHECKING:
    from ..broker import Broker

EPILOG = """\
examples:
  taskq enqueue add '[1, 2]'
  taskq enqueue send_email --kwargs '{"to": "ops@example.com"}' --queue emails
  taskq enqueue cleanup --delay 60000 --broker redis://127.0.0.1:6379/0
"""


def register(subparsers: Any) -> None:
    """Add the ``enqueue`` subcommand."""
    parser = subparsers.add_parser(
        "enqueue",
        help="send a message to an actor by name",
        description="Enqueue a message for ACTOR_NAME in the wire format every taskq and "
        "Dramatiq worker reads; the actor's code is not imported.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("actor_name", metavar="ACTOR_NAME")
    parser.add_argument(
        "args_json", nargs="?", default="[]", metavar="ARGS_JSON", help="a JSON list (default [])"
    )
    parser.add_argument("--kwargs", default="{}", metavar="JSON", help="a JSON object")
    parser.add_argument("--queue", default="default", metavar="Q", help="queue (default: default)")
    parser.add_argument("--delay", type=int, default=None, metavar="MS", help="delay in ms")
    add_broker_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the message as JSON")
    parser.set_defaults(func=run)


def _parse(text: str, kind: type, what: str, example: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON ({e.msg} at column {e.colno}): {text!r}") from e
    if not isinstance(value, kind):
        raise ValueError(f"{what} must be a JSON {kind.__name__}, e.g. {example}; got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Build the message and enqueue it."""
    from ..message import Message

    try:
        positional = _parse(args.args_json, list, "ARGS_JSON", "'[1, 2]'")
        keywords = _parse(args.kwargs, dict, "--kwargs", "'{\"x\": 1}'")
        validate_queue_name(args.queue)
        if not args.actor_name.strip():
            raise ValueError("ACTOR_NAME must not be empty")
        if args.delay is not None and args.delay < 0:
            raise ValueError(f"--delay must be >= 0 ms, got {args.delay}")
    except ValueError as e:
        return fail(EXIT_BAD_INPUT, str(e))
    message = Message(
        queue_name=args.queue,
        actor_name=args.actor_name,
        args=tuple(positional),
        kwargs=keywords,
        options={},
    )
    url = broker_url(args)

    def send(broker: Broker) -> int:
        broker.declare_queue(args.queue)
        broker.queue_stats()  # fails fast when the broker is down, before enqueue's retries
        sent = broker.enqueue(message, delay=args.delay or None)
        _flush_events(broker)
        if args.json:
            print(json.dumps({**sent.asdict(), "queue_name": args.queue}))
        else:
            print(f"enqueued {sent} as {sent.message_id} on {args.queue} ({mask_url(url)})")
        return EXIT_OK

    return with_broker(url, send)


def _flush_events(broker: Broker) -> None:
    """With TASKQ_EVENTS=1, publish the "enqueued" event before the process exits."""
    from ..middleware.events import Events

    events = broker.get_middleware(Events)
    if events is not None:
        events.flush(2000)  # type: ignore[attr-defined]
