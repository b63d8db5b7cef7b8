"""Prometheus metrics: ``taskq worker`` serves the metrics of all its worker processes on
``http://127.0.0.1:9191/metrics`` (``taskq_prom_host`` / ``taskq_prom_port`` change that).

The script starts ``python -m taskq worker prometheus_metrics -p 2`` on a free port, sends
some jobs (a few of which fail), then scrapes the endpoint the way Prometheus would and prints
the ``taskq_*`` samples. Point Prometheus at the endpoint and import
``examples/grafana/taskq-dashboard.json`` into Grafana for a dashboard of them.
Needs ``pip install 'taskq[prometheus]'``. Run it: ``python examples/prometheus_metrics.py``.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

os.environ.setdefault(
    "TASKQ_BROKER_URL", f"sqlite:///{tempfile.mkdtemp(prefix='taskq-metrics-')}/taskq.db"
)

import taskq  # noqa: E402

JOBS = 20


@taskq.actor(max_retries=0)
def resize(image_id: int) -> None:
    time.sleep(0.01)
    if image_id % 5 == 0:
        raise ValueError(f"image {image_id} is corrupt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def processed(metrics: str) -> float:
    """Sum of taskq_messages_total over every queue and actor."""
    lines = [line for line in metrics.splitlines() if line.startswith("taskq_messages_total{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def main() -> int:
    port = int(os.environ.get("taskq_prom_port") or 0) or free_port()  # noqa: SIM112
    url = f"http://127.0.0.1:{port}/metrics"
    here = os.path.dirname(os.path.abspath(__file__))
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskq", "worker", "prometheus_metrics", "--path", here]
        + ["-p", "2", "-t", "2"],
        env={**os.environ, "taskq_prom_port": str(port)},
    )
    try:
        for image_id in range(JOBS):
            resize.send(image_id)
        taskq.get_broker().join(resize.queue_name, timeout=60_000)
        deadline = time.monotonic() + 30
        while True:  # the last counter update may land just after the final ack
            try:
                metrics = scrape(url)
                if processed(metrics) >= JOBS:
                    break
            except OSError:
                pass  # the exposition server is not listening yet
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not report {JOBS} messages within 30 s")
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
    print(f"scraped {url}:")
    for line in metrics.splitlines():
        if line.startswith("taskq_") and "_bucket{" not in line:
            print(" ", line)
    print(f"worker exited with code {exit_code}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
