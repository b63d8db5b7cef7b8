"""Multi-tenant RabbitMQ: one RabbitMQ server, one virtual host per tenant. The vhost is the
path of the broker URL (``amqp://guest:guest@127.0.0.1:5672/tenant-a``); queues in different
vhosts are entirely separate, and RabbitMQ permissions decide which user may use which vhost.

Create the vhosts first (see docs/multi-tenancy.md)::

    rabbitmqctl add_vhost tenant-a
    rabbitmqctl set_permissions -p tenant-a guest ".*" ".*" ".*"

The script starts ``python -m taskq worker rabbitmq_vhosts --broker URL`` once per vhost, sends
each tenant its own jobs and shows that each worker only ran its tenant's jobs.
Run it: ``python examples/rabbitmq_vhosts.py [VHOST_A VHOST_B]``.
"""

import os
import signal
import subprocess
import sys
from urllib.parse import quote

AMQP = os.environ.get("EXAMPLE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
# This process only produces, through one broker per vhost (below); the default broker that
# the actor is declared on is never used here. Each worker gets its tenant's URL via --broker.
os.environ.setdefault("TASKQ_BROKER_URL", "stub://")

import taskq  # noqa: E402
from taskq.urls import broker_from_url  # noqa: E402


@taskq.actor
def ship(order: str) -> None:
    print(f"[{os.environ['TENANT']}] shipping {order}", flush=True)


def main(vhosts: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    urls = {vhost: f"{AMQP}/{quote(vhost, safe='')}" for vhost in vhosts}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "taskq", "worker", "rabbitmq_vhosts", "--path", here]
            + ["--broker", url, "-p", "1", "-t", "2"],
            env={**os.environ, "TENANT": vhost},
        )
        for vhost, url in urls.items()
    ]
    brokers = {vhost: broker_from_url(url) for vhost, url in urls.items()}
    try:
        for vhost, orders in zip(vhosts, (["#1001", "#1002"], ["#2001"]), strict=True):
            broker = brokers[vhost]
            broker.declare_queue(ship.queue_name)
            for order in orders:
                broker.enqueue(ship.message(order))
        for broker in brokers.values():
            broker.join(ship.queue_name, timeout=60_000)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        exit_codes = [worker.wait(timeout=60) for worker in workers]
        for broker in brokers.values():
            broker.close()
    print(f"workers exited with codes {exit_codes}")
    return max(exit_codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:3] or ["tenant-a", "tenant-b"]))
