"""The cold-start cases: a worker command spawned on a pre-filled queue, and import costs.

Each framework's own worker command (``dramatiq bench.apps.tasks -p 2 -t 8`` and ``taskq
worker bench.apps.tasks -p 2 -t 8``) is spawned on a queue already holding N messages; each
task INCRs one Redis counter. The clock starts at the spawn and stops when the counter reaches
N, so the boot, the imports, the connection set-up and the prefetch ramp-up all count, as they
do for a user whose workers start on a backlog. The counter is exact on both brokers (no
allowance for messages a RabbitMQ consumer may still hold, as the steady-state case needs).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from .apps import settings
from .harness import (
    ROOT,
    Setup,
    WorkerGroup,
    bytecode_environ,
    load_app,
    purge,
    redis_client,
    wait_filled,
)

TASKS = "bench.apps.tasks"


def prefill(setup: Setup, app: Any, total: int, actor: str = "incr") -> None:
    """Put ``total`` messages of ``actor`` on the queue, in bulk, as the framework's own enqueue
    would store them (so the fill is quick for both frameworks and not part of the timing)."""
    actor_object = getattr(app, actor)
    template = actor_object.message()
    if setup.framework == "taskq" and setup.broker in ("redis", "sqlite"):
        for i in range(0, total, 5000):
            chunk = [actor_object.message() for _ in range(min(5000, total - i))]
            app.broker.enqueue_many(chunk)
        return
    if setup.broker == "redis":  # Dramatiq's enqueue script: HSET the payload, RPUSH the id
        client = redis_client()
        queue = f"{setup.namespace}:{setup.queue}"
        for start in range(0, total, 5000):
            pipe = client.pipeline(transaction=False)
            for _ in range(start, min(total, start + 5000)):
                redis_id = str(uuid.uuid4())
                body = _payload(template, {"redis_message_id": redis_id})
                pipe.hset(f"{queue}.msgs", redis_id, body)
                pipe.rpush(queue, redis_id)
            pipe.execute()
        return
    _prefill_rabbitmq(setup, app, template, total)


def _prefill_rabbitmq(setup: Setup, app: Any, template: Any, total: int) -> None:
    """One message through the framework's broker (which declares the queue its own way),
    the rest published with the same properties over one plain pika channel."""
    import pika

    app.broker.enqueue(template)
    connection = pika.BlockingConnection(pika.URLParameters(settings.AMQP_URL))
    try:
        channel = connection.channel()
        for _ in range(total - 1):
            body = _payload(template, {})
            message_id = json.loads(body)["message_id"]
            properties = pika.BasicProperties(delivery_mode=2)
            if setup.framework == "taskq":
                properties = pika.BasicProperties(delivery_mode=2, message_id=message_id)
            channel.basic_publish("", setup.queue, body, properties)
    finally:
        connection.close()


def delete_rabbitmq_queues(queue: str) -> None:
    """Drop the run's queue and its delay and dead-letter queues (both frameworks' names)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(settings.AMQP_URL))
    try:
        channel = connection.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()


def _payload(template: Any, options: dict[str, Any]) -> bytes:
    data = json.loads(template.encode())
    data["message_id"] = str(uuid.uuid4())
    data["message_timestamp"] = int(time.time() * 1000)
    data["options"] = {**data["options"], **options}
    return json.dumps(data, separators=(",", ":")).encode()


def cold_start(total: int, processes: int = 2, threads: int = 8) -> Callable[[Setup], Any]:
    """Spawn-to-done drain of ``total`` pre-filled INCR tasks: returns (messages/s from the
    spawn to the last INCR, seconds from the spawn to the first INCR)."""

    def run(setup: Setup) -> tuple[float, float]:
        app = load_app(setup, TASKS)
        purge(setup, app)
        client = redis_client()
        client.delete(app.COUNTER_KEY)
        prefill(setup, app, total)
        wait_filled(setup, app, total, timeout=120)
        if setup.broker == "rabbitmq":
            app.broker.close()  # the producer's connection must not linger as a consumer
        group = WorkerGroup(setup, processes=processes, threads=threads, module=TASKS)
        first = None
        spawned = time.perf_counter()
        with group:
            deadline = time.monotonic() + 600
            while True:
                count = int(client.get(app.COUNTER_KEY) or 0)
                now = time.perf_counter()
                if first is None and count:
                    first = now - spawned
                if count >= total:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{setup.framework}/{setup.broker}: {count} of {total}")
                time.sleep(0.003)
        client.delete(app.COUNTER_KEY)
        if setup.broker == "rabbitmq":
            delete_rabbitmq_queues(setup.queue)
        assert first is not None
        return total / (now - spawned), first

    return run


_IMPORTS = {
    "package": {"taskq": "import taskq", "dramatiq": "import dramatiq"},
    # What a `-p 2` worker child imports before its first message: the CLI, the worker and
    # the broker, as each framework's worker command does.
    "worker path": {
        "taskq": "import taskq.cli.worker, taskq.worker, taskq.brokers.redis",
        "dramatiq": "import dramatiq.cli, dramatiq.worker, dramatiq.brokers.redis",
    },
}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|")


def import_cost(what: str, repeats: int = 5) -> Callable[[Setup], float]:
    """Milliseconds of imports for ``what`` (see ``_IMPORTS``): the sum of every module's own
    time under ``python -X importtime``, minus that of a bare interpreter; best of ``repeats``."""

    def run(setup: Setup) -> float:
        code = _IMPORTS[what][setup.framework]
        return min(_import_us(code) - _import_us("pass") for _ in range(repeats)) / 1000

    return run


def _import_us(code: str) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=bytecode_environ(),
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(int(m.group(1)) for m in _LINE.finditer(done.stderr))
