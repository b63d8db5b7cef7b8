"""``taskq worker``: run the actors of one or more modules in supervised worker processes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..constants import DEFAULT_SQLITE_PATH
from ..exit_codes import exit_codes_help
from ..supervisor.affinity import CPU_AFFINITY_CHOICES
from ..supervisor.config import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_THREADS,
    DEFAULT_WORKER_FORK_TIMEOUT,
    MAX_WORKER_FORK_TIMEOUT,
    MIN_WORKER_FORK_TIMEOUT,
    ExitCode,
    WorkerOptions,
    default_processes,
)
from ..supervisor.modules import add_import_paths, missing_module_message

DESCRIPTION = f"""\
Import MODULE (and any further modules), then consume the broker's queues in PROCESSES worker
processes of THREADS threads each. The broker is MODULE's BROKER_VAR when given, else the one
the module set with taskq.set_broker(), else --broker / TASKQ_BROKER_URL, else the embedded
SQLite broker at {DEFAULT_SQLITE_PATH}.

signals (to the master process):
  INT, TERM     stop gracefully: finish running messages (up to --shutdown-timeout), requeue
                prefetched ones, exit 0; a second INT/TERM kills the workers and exits 1
  HUP           replace every worker process with a fresh one that re-imports the code

A worker process whose consumers get no answer from the broker, or whose acks all fail, stops
sending heartbeats to the master, which replaces it after --heartbeat-timeout and logs why.

{exit_codes_help()}"""

EPILOG = """\
examples:
  taskq worker myapp                            every core, 8 threads each
  taskq worker myapp:broker -p 2 -t 16          use the variable `broker` of myapp
  taskq worker myapp --queues emails reports    consume only these queues
  taskq worker myapp --broker redis://127.0.0.1:6379/0
  taskq worker myapp --watch . --pid-file /run/taskq.pid --log-format json
  taskq worker myapp --max-tasks-per-child 1000 --max-memory-per-child 512
  taskq-gevent myapp -p 1 -t 250                250 greenlets for IO-bound actors
"""


def worker_command(
    modules: Sequence[str],
    *,
    processes: int | None = None,
    threads: int | None = None,
    paths: Sequence[str] = (),
    queues: Sequence[str] = (),
    broker_url: str | None = None,
    events: bool = False,
    gevent: bool = False,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The argv that runs ``taskq worker`` (``taskq-gevent`` with ``gevent``) with these
    arguments, in this Python environment. A ``broker_url`` given here shows in ``ps``: pass
    one with a password through ``TASKQ_BROKER_URL`` in the child's environment instead."""
    if gevent:
        script = Path(sys.executable).with_name("taskq-gevent")
        argv = [str(script)] if script.exists() else ["taskq-gevent"]
    else:
        argv = [sys.executable, "-m", "taskq", "worker"]
    argv += modules
    if processes is not None:
        argv += ["-p", str(processes)]
    if threads is not None:
        argv += ["-t", str(threads)]
    for path in paths:
        argv += ["--path", path]
    if queues:
        argv += ["--queues", *queues]
    if broker_url:
        argv += ["--broker", broker_url]
    if events:
        argv.append("--events")
    return argv + list(extra_args)


def register(subparsers: Any) -> None:
    """Add the ``worker`` subcommand."""
    parser = subparsers.add_parser(
        "worker",
        help="run workers for the actors of one or more modules",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_worker_arguments(parser)
    parser.set_defaults(func=run)


def worker_fork_timeout(value: str) -> float:
    """``--worker-fork-timeout``: milliseconds, from 10 ms to 30 minutes (Dramatiq's bounds and
    error texts, which scripts written for Dramatiq may match)."""
    try:
        ms = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "worker-fork-timeout be a number. Give milliseconds, e.g. 30000."
        ) from None
    if ms < MIN_WORKER_FORK_TIMEOUT:
        raise argparse.ArgumentTypeError(
            "worker-fork-timeout too small (minimum recommended: 10ms)."
        )
    if ms > MAX_WORKER_FORK_TIMEOUT:
        raise argparse.ArgumentTypeError("worker-fork-timeout too large (maximum: 30 minutes).")
    return ms


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``taskq worker`` (also taken by ``taskq-gevent``)."""
    parser.add_argument(
        "modules",
        nargs="+",
        metavar="MODULE[:BROKER_VAR]",
        help="modules to import; the first may name the variable holding the broker",
    )
    parser.add_argument(
        "-p",
        "--processes",
        type=int,
        default=default_processes(),
        metavar="N",
        help="worker processes to run (default: one per core, %(default)s here)",
    )
    parser.add_argument(
        "-t",
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        metavar="N",
        help="worker threads (greenlets with --gevent) per process (default: %(default)s)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        metavar="N",
        help="unacked messages each queue's consumer may hold (default: adapts to job length, "
        "from 2 to 128 per thread)",
    )
    parser.add_argument(
        "-Q",
        "--queues",
        nargs="+",
        metavar="Q",
        help="consume only these queues (default: every queue the modules declare)",
    )
    parser.add_argument("--broker", metavar="URL", help="broker URL (sets TASKQ_BROKER_URL)")
    parser.add_argument("--pid-file", metavar="FILE", help="write the master's pid to FILE")
    parser.add_argument("--log-file", metavar="FILE", help="append logs to FILE, not stderr")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines or one JSON object per line (default: %(default)s)",
    )
    parser.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="DIR",
        help="reload the workers when a .py file under DIR changes (repeatable)",
    )
    parser.add_argument(
        "--watch-use-polling",
        action="store_true",
        help="with --watch, poll modification times instead of relying on OS file events "
        "(for file systems that send none)",
    )
    parser.add_argument(
        "--path",
        dest="paths",
        action="append",
        default=None,
        metavar="DIR",
        help="add DIR to the import path (repeatable; default: the current directory)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=int,
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        metavar="MS",
        help="how long running messages may take to finish on stop (default: %(default)s ms)",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=int,
        default=DEFAULT_HEARTBEAT_TIMEOUT,
        metavar="MS",
        help="replace a worker process that sent the master no heartbeat for MS: it made no "
        "progress with the broker (default: %(default)s; 0: never)",
    )
    parser.add_argument(
        "--prom-port",
        type=int,
        metavar="PORT",
        help="port of the master's metrics and health server (default: $taskq_prom_port, "
        "else 9191; 0: any free port)",
    )
    parser.add_argument(
        "--max-tasks-per-child",
        type=int,
        metavar="N",
        help="replace a worker process gracefully after it processed N messages",
    )
    parser.add_argument(
        "--max-memory-per-child",
        type=int,
        metavar="MB",
        help="replace a worker process gracefully once its resident memory exceeds MB",
    )
    parser.add_argument(
        "-f",
        "--fork-function",
        dest="forks",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="run FUNCTION in a process of its own beside the workers (repeatable); it is "
        "started once the worker processes are ready",
    )
    parser.add_argument(
        "--worker-fork-timeout",
        type=worker_fork_timeout,
        default=DEFAULT_WORKER_FORK_TIMEOUT,
        metavar="MS",
        help="start the --fork-function processes after MS even if not every worker process "
        "is ready yet (default: %(default)g)",
    )
    parser.add_argument(
        "--gevent",
        action="store_true",
        help="run worker threads as greenlets (same as the taskq-gevent command)",
    )
    parser.add_argument(
        "--events",
        action="store_true",
        help="publish message lifecycle events (for taskq events and the TUI)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start worker processes as fresh interpreters instead of forking",
    )
    parser.add_argument(
        "--cpu-affinity",
        choices=CPU_AFFINITY_CHOICES,
        default="auto",
        help="auto: keep each worker process on one core, with batch scheduling, when there "
        "are at least as many processes as cores; off: let them move (default: %(default)s)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log debug messages (-vv: libraries too)"
    )


def options_from_args(args: argparse.Namespace) -> WorkerOptions:
    """The parsed command line as :class:`WorkerOptions` (not yet validated)."""
    return WorkerOptions(
        modules=list(args.modules),
        processes=args.processes,
        threads=args.threads,
        prefetch=args.prefetch,
        queues=list(args.queues) if args.queues else None,
        paths=list(args.paths) if args.paths else ["."],
        broker_url=args.broker,
        pid_file=args.pid_file,
        log_file=args.log_file,
        log_format=args.log_format,
        watch=list(args.watch),
        watch_use_polling=args.watch_use_polling,
        shutdown_timeout=args.shutdown_timeout,
        max_tasks_per_child=args.max_tasks_per_child,
        max_memory_per_child=args.max_memory_per_child,
        gevent=args.gevent,
        events=args.events,
        spawn=args.spawn,
        verbose=args.verbose,
        heartbeat_timeout=args.heartbeat_timeout,
        prom_port=args.prom_port,
        forks=list(args.forks),
        worker_fork_timeout=args.worker_fork_timeout,
        cpu_affinity=args.cpu_affinity,
    )


def run(args: argparse.Namespace) -> int:
    """Validate the options, prepare the environment, and run the master process."""
    options = options_from_args(args)
    try:
        options.validate()
    except ValueError as e:
        sys.stderr.write(f"taskq worker: error: {e}\n")
        return int(ExitCode.IMPORT_OR_USAGE)
    # Before any process, server or log line: a module that does not exist is a typo. Only
    # looked up, not imported (the master runs no application code and opens no connection).
    add_import_paths(options.paths)
    missing = missing_module_message(options.modules, options.paths)
    if missing is not None:
        sys.stderr.write(f"taskq worker: error: {missing}\n")
        return int(ExitCode.IMPORT_OR_USAGE)
    if options.watch:
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            sys.stderr.write("taskq worker: error: --watch needs `pip install taskq[watch]`\n")
            return int(ExitCode.IMPORT_OR_USAGE)
    if options.gevent:
        from ..middleware.threading import is_gevent_active
        from .gevent import ensure_gevent_patched

        if not is_gevent_active() and sys.argv[1:2] != ["worker"]:
            sys.stderr.write(
                "taskq worker: error: --gevent needs the command line; use taskq-gevent\n"
            )
            return int(ExitCode.IMPORT_OR_USAGE)
        ensure_gevent_patched(sys.argv[1:])
    if options.broker_url:
        os.environ["TASKQ_BROKER_URL"] = options.broker_url
    if options.events:
        os.environ["TASKQ_EVENTS"] = "1"
    # Imported only when a worker runs: the other subcommands (and --help) skip their cost.
    from ..logging_setup import configure_logging
    from ..supervisor.master import run_supervisor

    configure_logging(
        verbose=options.verbose, log_file=options.log_file, log_format=options.log_format
    )
    return run_supervisor(options)
