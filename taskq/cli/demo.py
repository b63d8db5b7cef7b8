"""``taskq demo``: enqueue a few jobs on the embedded SQLite broker, run ``taskq worker`` on
them, print each result as it arrives, then stop the worker. Needs no server."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..constants import DEFAULT_SQLITE_PATH
from ..results.errors import ResultFailure, ResultMissing
from .worker import worker_command

#: Seconds the worker gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 20


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a few jobs end to end on the embedded SQLite broker (no server needed)",
        description=__doc__,
    )
    parser.add_argument(
        "--path",
        metavar="FILE",
        help="SQLite file to use (default: a temporary file, removed afterwards); "
        f"e.g. {DEFAULT_SQLITE_PATH} to keep it",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS",
        help="give up if the results have not all arrived by then (default: 60)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when every result arrived and the worker stopped cleanly."""
    if args.path:
        scratch, path = None, Path(args.path).resolve()
    else:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="taskq-demo-"))
        path = scratch / "taskq.db"
    try:
        return _run_demo(path, args.timeout, log_dir=path.parent)
    finally:
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


def _run_demo(path: Path, timeout: float, *, log_dir: Path) -> int:
    url = f"sqlite:///{path}"
    os.environ["TASKQ_BROKER_URL"] = url  # read by taskq.demo_app and by the worker
    out = sys.stdout
    _say(out, f"taskq demo: embedded SQLite broker at {path} (no server needed)")
    try:
        demo = importlib.import_module("taskq.demo_app")
    except Exception as e:  # a bad --path lands here, with the broker's explanation
        _say(sys.stderr, f"taskq demo: error: {e}")
        return 1
    messages = [
        demo.add.send(2, 3),
        demo.count_words.send("the quick brown fox jumps over the lazy dog"),
        *(demo.slow_square.send(x) for x in (3, 4, 5)),
        demo.fail_on_purpose.send("this job fails on purpose"),
    ]
    _say(out, f"Enqueued {len(messages)} jobs on queue {demo.QUEUE_NAME!r}.")
    worker = _start_worker(url, demo, log_dir, out)
    started = time.monotonic()
    try:
        arrived = _print_results(demo.add.broker.get_results_backend(), messages, worker, timeout)
    finally:
        exit_code = worker.stop()
    elapsed = time.monotonic() - started
    if arrived < len(messages):
        _say(sys.stderr, f"taskq demo: only {arrived} of {len(messages)} results arrived.")
        worker.show_log()
        return 1
    _say(out, f"All {len(messages)} results arrived in {elapsed:.1f} s; worker stopped "
              f"with SIGTERM, exit code {exit_code}.")  # fmt: skip
    if exit_code != 0:
        worker.show_log()
        return 1
    _say(out, "Next: write your own actors and run `taskq worker yourmodule`.")
    return 0


def _print_results(backend: Any, messages: list[Any], worker: _DemoWorker, timeout: float) -> int:
    """Print each result as it arrives (any order); return how many arrived."""
    pending = list(messages)
    deadline = time.monotonic() + timeout
    pause = 0.01
    while pending and time.monotonic() < deadline and worker.alive():
        for message in list(pending):
            try:
                value = backend.get_result(message)
                line = f"  {message} = {value!r}"
            except ResultMissing:
                continue
            except ResultFailure as e:
                line = f"  {message} failed: {e}"
            pending.remove(message)
            _say(sys.stdout, line)
            pause = 0.01
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return len(messages) - len(pending)


class _DemoWorker:
    """``taskq worker`` as a subprocess."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def show_log(self) -> None:
        if self.log.exists():
            tail = self.log.read_text(errors="replace").splitlines()[-30:]
            _say(sys.stderr, "--- worker output (last lines) ---\n" + "\n".join(tail))


def _start_worker(url: str, demo: Any, log_dir: Path, out: TextIO) -> _DemoWorker:
    command = worker_command(["taskq.demo_app"], processes=1, threads=4, broker_url=url)
    _say(out, "Starting: taskq worker taskq.demo_app -p 1 -t 4 --broker " + url)
    log = log_dir / "taskq-demo-worker.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
    return _DemoWorker(process, log)


def _say(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()
