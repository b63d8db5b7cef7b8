"""Multi-tenant Redis: one Redis server, one codebase, one worker per tenant. Each tenant's
broker URL names its own namespace (``?namespace=tenant-a``), so tenants never see each other's
queues, results, dead letters or workers, even with the same queue and actor names.

The script starts ``python -m taskq worker redis_namespaces --broker URL`` once per tenant,
sends each tenant its own jobs and shows that each worker only ran its tenant's jobs.
Needs Redis on 127.0.0.1:6379. Run it: ``python examples/redis_namespaces.py [NS_A NS_B]``.
"""

import os
import signal
import subprocess
import sys

REDIS = os.environ.get("EXAMPLE_REDIS_URL", "redis://127.0.0.1:6379/0")
# This process only produces, through one broker per tenant (below); the default broker that
# the actor is declared on is never used here. Each worker gets its tenant's URL via --broker.
os.environ.setdefault("TASKQ_BROKER_URL", "stub://")

import taskq  # noqa: E402
from taskq.urls import broker_from_url  # noqa: E402


@taskq.actor
def invoice(customer: str) -> None:
    # Inside a worker, get_broker() is that worker's broker: its namespace says which tenant.
    print(f"[{taskq.get_broker().namespace}] invoicing {customer}", flush=True)


def main(namespaces: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    urls = {ns: f"{REDIS}?namespace={ns}" for ns in namespaces}
    brokers = {ns: broker_from_url(url) for ns, url in urls.items()}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "taskq", "worker", "redis_namespaces", "--path", here]
            + ["--broker", url, "-p", "1", "-t", "2"]
        )
        for url in urls.values()
    ]
    try:
        for ns, customers in zip(namespaces, (["acme", "globex"], ["initech"]), strict=True):
            broker = brokers[ns]
            broker.declare_queue(invoice.queue_name)
            for customer in customers:
                # invoice.message() builds the message; this tenant's broker enqueues it.
                broker.enqueue(invoice.message(customer))
        for broker in brokers.values():
            broker.join(invoice.queue_name, timeout=60_000)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        exit_codes = [worker.wait(timeout=60) for worker in workers]
        for ns, broker in brokers.items():  # tidy up: delete every key of the tenant
            for key in broker.client.scan_iter(f"{ns}:*"):
                broker.client.delete(key)
            broker.close()
    print(f"workers exited with codes {exit_codes}")
    return max(exit_codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:3] or ["tenant-a", "tenant-b"]))
