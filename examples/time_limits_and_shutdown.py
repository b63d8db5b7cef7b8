"""Interrupts: an actor stopped by its time limit, a running job cancelled with
``taskq.abort``, and a long job told to save its work when the worker shuts down.

All three arrive as exceptions raised inside the actor's thread (``TimeLimitExceeded``,
``Abort``, ``Shutdown``), so ``try/except`` (or ``finally``) is where you clean up.
The script runs the real ``python -m taskq worker`` on this module, echoes what the actors
print, and stops the worker with SIGTERM at the end (a graceful stop: exit code 0).
Run it: ``python examples/time_limits_and_shutdown.py``.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault(
    "TASKQ_BROKER_URL", f"sqlite:///{tempfile.mkdtemp(prefix='taskq-interrupts-')}/taskq.db"
)

import taskq  # noqa: E402
from taskq.middleware import Abort, Abortable, Shutdown, TimeLimitExceeded  # noqa: E402
from taskq.results import Results  # noqa: E402
from taskq.results.backends import SQLiteBackend  # noqa: E402

broker = taskq.get_broker()
# Abort marks are kept in the results backend, here the broker's own SQLite file.
broker.add_middleware(Results(backend=SQLiteBackend(path=broker.path)))
broker.add_middleware(Abortable(interval=100))


def say(text: str) -> None:
    print(text, flush=True)


@taskq.actor(time_limit=300, max_retries=0)
def crunch() -> None:
    steps = 0
    try:
        while True:
            steps += 1
            time.sleep(0.01)
    except TimeLimitExceeded:
        say(f"crunch: stopped by its 300 ms time limit after {steps} steps")
        raise  # the message fails (and, with retries left, would be retried)


@taskq.actor(max_retries=0)
def report() -> None:
    try:
        # Inside the try: the abort may land as soon as the caller has seen this line.
        say("report: started")
        while True:
            time.sleep(0.01)
    except Abort:
        say("report: aborted, removing the half-written file")
        raise


@taskq.actor(notify_shutdown=True)
def export() -> None:
    rows = 0
    try:
        # Inside the try: the worker may be told to stop as soon as this line is out.
        say("export: started")
        while True:
            rows += 1
            time.sleep(0.01)
    except Shutdown:
        say(f"export: worker shutting down, checkpoint saved at row {rows}")
        # Returning acks the message; re-raise instead to have it retried later.


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    command = [sys.executable, "-m", "taskq", "worker", "time_limits_and_shutdown"]
    worker = subprocess.Popen(
        [*command, "--path", here, "-p", "1", "-t", "2"], stdout=subprocess.PIPE, text=True
    )

    def echo_until(prefix: str) -> None:
        for line in worker.stdout:
            print("worker |", line, end="", flush=True)
            if line.startswith(prefix):
                return
        raise SystemExit(f"the worker exited before printing {prefix!r}")

    try:
        crunch.send()
        echo_until("crunch: stopped")

        message = report.send()
        echo_until("report: started")
        taskq.abort(message)
        echo_until("report: aborted")

        export.send()
        echo_until("export: started")
    finally:
        worker.send_signal(signal.SIGTERM)
        for line in worker.stdout:
            print("worker |", line, end="", flush=True)
        exit_code = worker.wait(timeout=60)
    print(f"worker exited with code {exit_code}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
