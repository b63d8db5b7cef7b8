"""Keep a page session off the shared servers' everyday names.

The docs name the local servers as a reader would (``redis://127.0.0.1:6379/0``, the RabbitMQ
vhost ``%2F``). A page session runs the text with exactly two substitutions, so that its
workers never meet other tests' queues and it can clean up everything it wrote:

- Redis database ``0`` on 127.0.0.1 becomes database :data:`REDIS_DB`, flushed before and after
  the page (namespaces in the text are kept);
- the RabbitMQ vhost ``/`` (``%2F``) on 127.0.0.1 becomes :data:`VHOST`, created before the page
  and deleted after it. Other vhosts are the text's own: those it creates with
  ``rabbitmqctl add_vhost NAME`` are deleted before the page (a leftover of an earlier run) and
  after it.
"""

from __future__ import annotations

import re
import subprocess

REDIS_DB = 15
VHOST = "taskq-docs"
_SUBSTITUTIONS = {
    "127.0.0.1:6379/0": f"127.0.0.1:6379/{REDIS_DB}",
    "127.0.0.1:5672/%2F": f"127.0.0.1:5672/{VHOST}",
}


def isolate(text: str) -> str:
    """``text`` with the shared servers' default names replaced by the session's own."""
    for common, own in _SUBSTITUTIONS.items():
        text = text.replace(common, own)
    return text


def uses_redis(text: str) -> bool:
    return "redis://" in text


def uses_rabbitmq(text: str) -> bool:
    return "amqp://" in text


def flush_redis() -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.flushdb()
    finally:
        client.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost() -> None:
    delete_vhost()
    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def delete_vhost(name: str = VHOST) -> None:
    subprocess.run(
        ["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60, check=False
    )


def vhosts_created(text: str) -> list[str]:
    """The vhosts a page creates itself with ``rabbitmqctl add_vhost NAME``."""
    return re.findall(r"rabbitmqctl add_vhost ([\w.-]+)", text)
