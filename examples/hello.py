"""Hello, world: one actor, the embedded SQLite broker, a real `taskq worker`. No server needed.

Run it with ``python examples/hello.py``. It enqueues three greetings, starts
``python -m taskq worker hello`` on them (exactly what you would type in a terminal), waits
until the queue is empty, then stops the worker with SIGTERM (a graceful stop, exit code 0).
"""

import os
import signal
import subprocess
import sys
import tempfile

# Every process that uses the same broker URL shares the same queues: this script (the
# producer) and the worker it starts below. Set it before declaring actors.
os.environ.setdefault(
    "TASKQ_BROKER_URL", f"sqlite:///{tempfile.mkdtemp(prefix='taskq-hello-')}/taskq.db"
)

import taskq  # noqa: E402


@taskq.actor
def greet(name: str) -> None:
    print(f"Hello, {name}!", flush=True)


def main() -> int:
    for name in ("Ada", "Grace", "Linus"):
        greet.send(name)

    here = os.path.dirname(os.path.abspath(__file__))
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskq", "worker", "hello", "--path", here, "-p", "1", "-t", "2"]
    )
    try:
        taskq.get_broker().join(greet.queue_name, timeout=60_000)
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
    print(f"worker exited with code {exit_code}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
