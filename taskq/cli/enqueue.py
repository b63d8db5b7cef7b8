"""``taskq enqueue``: send a message to an actor by name, without importing its code."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

from ..broker import Broker as BaseBroker
from ..common import mask_url, q_name, validate_queue_name
from ..events.publisher import Events
from ..message import Message
from .connect import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_broker_argument,
    broker_url,
    fail,
    warn,
    with_broker,
)

if TYPE_CHECKING:
    from ..broker import Broker

DESCRIPTION = """\
Enqueue a message for ACTOR_NAME in the wire format every taskq and Dramatiq worker reads; the
actor's code is not imported. Brokers know queues and workers, not actors: while no live worker
consumes the queue (no worker has declared an actor on it), a warning says so and the message
is enqueued anyway, to wait there for one.
"""

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
        description=DESCRIPTION,
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
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} is not valid JSON ({e.msg} at column {e.colno}): {text!r}") from e
    if not isinstance(value, kind):
        raise ValueError(f"{what} must be a JSON {kind.__name__}, e.g. {example}; got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Build the message and enqueue it."""

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
    message: Message[Any] = Message(
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
        consumed = queue_has_workers(broker, args.queue)
        sent = broker.enqueue(message, delay=args.delay or None)
        _flush_events(broker)
        if args.json:
            print(json.dumps({**sent.asdict(), "queue_name": args.queue}))
        else:
            print(f"enqueued {sent} as {sent.message_id} on {args.queue} ({mask_url(url)})")
        if consumed is False:
            warn(
                f"no worker has declared actor {args.actor_name!r} yet: no live worker consumes "
                f"queue {args.queue!r}; the message waits there until one does"
            )
        return EXIT_OK

    return with_broker(url, send)


def queue_has_workers(broker: Broker, queue_name: str) -> bool | None:
    """Whether a live worker consumes ``queue_name``: None when the broker cannot tell.

    Brokers record queues and workers, not actors, so this is how ``taskq enqueue`` tells that
    an actor is declared: a worker declares an actor's queue and consumes it. SQLite and Redis
    list their workers' queues in the worker heartbeats (a Dramatiq worker on Redis does not:
    then it cannot tell); RabbitMQ counts a queue's consumers."""

    canonical = q_name(queue_name)
    if "taskq.brokers.rabbitmq" in sys.modules:
        from ..brokers.rabbitmq import RabbitmqBroker

        if isinstance(broker, RabbitmqBroker):
            return _rabbitmq_consumers(broker, canonical) > 0
    if type(broker).worker_heartbeats is BaseBroker.worker_heartbeats:
        return None  # this broker keeps no heartbeats
    workers = [w for w in broker.worker_heartbeats() if w.get("alive", True)]
    if any("queues" not in worker for worker in workers):
        return None
    return any(canonical in (worker.get("queues") or []) for worker in workers)


def _rabbitmq_consumers(broker: Any, canonical: str) -> int:
    """Consumers of RabbitMQ queue ``canonical`` (0 when it does not exist)."""
    import pika.exceptions

    channel = broker.connection.channel()
    try:
        frame = channel.queue_declare(canonical, passive=True)
        return int(frame.method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        with contextlib.suppress(Exception):
            if channel.is_open:
                channel.close()


def _flush_events(broker: Broker) -> None:
    """With TASKQ_EVENTS=1, publish the "enqueued" event before the process exits."""

    events = broker.get_middleware(Events)
    if events is not None:
        events.flush(2000)  # type: ignore[attr-defined]
