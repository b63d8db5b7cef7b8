"""An IO-bound crawler under gevent: one worker process running 50 greenlets fetches 30 slow
pages at once, where 50 OS threads would cost far more memory.

The script serves the pages itself from a local HTTP server on 127.0.0.1 (each answer takes
300 ms), enqueues one ``fetch`` per page, runs the ``taskq-gevent`` command on this module
(``taskq-gevent gevent_crawler -p 1 -t 50`` in a terminal) and prints what was fetched.
Needs ``pip install 'taskq[gevent]'``. Run it: ``python examples/gevent_crawler.py``.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault(
    "TASKQ_BROKER_URL", f"sqlite:///{tempfile.mkdtemp(prefix='taskq-crawler-')}/taskq.db"
)

import taskq  # noqa: E402
from taskq.results import Results  # noqa: E402
from taskq.results.backends import SQLiteBackend  # noqa: E402

broker = taskq.get_broker()
broker.add_middleware(Results(backend=SQLiteBackend(path=broker.path)))

PAGES = 30


@taskq.actor(store_results=True, max_retries=2, min_backoff=100)
def fetch(url: str) -> dict[str, str | int]:
    # Under taskq-gevent, sockets are cooperative: while this greenlet waits for the
    # server, the others run.
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    title = re.search(r"<title>(.*?)</title>", body)
    return {"url": url, "bytes": len(body), "title": title.group(1) if title else ""}


class SlowPages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(0.3)  # a slow upstream
        body = f"<html><title>page {self.path}</title><body>{'x' * 1000}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    pages = taskq.group(fetch.message(f"{base}/page/{n}") for n in range(PAGES)).run()
    here = os.path.dirname(os.path.abspath(__file__))
    # python -m taskq.cli.gevent is the taskq-gevent command.
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskq.cli.gevent", "gevent_crawler", "--path", here]
        + ["-p", "1", "-t", "50"]
    )
    try:
        started = time.monotonic()
        results = list(pages.get_results(block=True, timeout=60_000))
        elapsed = time.monotonic() - started
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
        server.shutdown()
    for result in results[:3]:
        print(f"{result['title']}: {result['bytes']} bytes")
    print(f"fetched {len(results)} pages of 300 ms each in {elapsed:.1f} s")
    print(f"worker exited with code {exit_code}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
