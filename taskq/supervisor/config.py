"""What ``taskq worker`` was asked to run, shared by the master and its worker processes."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field

from ..errors import ActorNotFound, BrokerError, QueueNotFound
from ..exit_codes import ExitCode
from .affinity import CPU_AFFINITY_CHOICES, CpuAffinity

#: Errors of the SQLite broker meaning "this file is not a usable database" (exit 2, not 3).
_BAD_FILE_ERRORS = ("NotATaskqDatabase", "DatabaseCorrupt")


def broker_error_exit_code(error: BaseException) -> ExitCode | None:
    """The exit code for a broker error met at start: 2 when the broker's file is not a usable
    database (not SQLite, damaged), 3 when the broker cannot be reached or opened (down, a
    directory that cannot be created, read-only, full, locked); None for other errors."""

    if not isinstance(error, BrokerError) or isinstance(error, ActorNotFound | QueueNotFound):
        return None
    sqlite_errors = sys.modules.get("taskq.brokers.sqlite.errors")
    bad_file = tuple(
        getattr(sqlite_errors, name) for name in _BAD_FILE_ERRORS if hasattr(sqlite_errors, name)
    )
    if bad_file and isinstance(error, bad_file):
        return ExitCode.IMPORT_OR_USAGE
    return ExitCode.BROKER_UNREACHABLE


#: Default for ``--shutdown-timeout``: how long (ms) running messages may take to finish.
DEFAULT_SHUTDOWN_TIMEOUT = 600_000
DEFAULT_THREADS = 8
#: Default for ``--heartbeat-timeout`` (ms) and its smallest value other than 0 (off): a
#: healthy worker process beats every second, and a consumer may take two polls to answer.
DEFAULT_HEARTBEAT_TIMEOUT = 60_000
MIN_HEARTBEAT_TIMEOUT = 3_000
#: Default and bounds (ms) of ``--worker-fork-timeout``: how long the master waits for the
#: worker processes to be ready before it starts the ``--fork-function`` processes anyway.
DEFAULT_WORKER_FORK_TIMEOUT = 30_000.0
MIN_WORKER_FORK_TIMEOUT = 10.0
MAX_WORKER_FORK_TIMEOUT = 1_800_000.0


def default_processes() -> int:
    """One worker process per CPU core available to this process."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class WorkerOptions:
    """Everything a worker process needs; serialised to JSON for spawned processes."""

    #: ``module`` or ``module:broker_variable``; the first one names the broker.
    modules: list[str]
    processes: int = field(default_factory=default_processes)
    threads: int = DEFAULT_THREADS
    #: Unacked messages per queue consumer; None lets the window adapt (taskq.worker.prefetch).
    prefetch: int | None = None
    queues: list[str] | None = None
    paths: list[str] = field(default_factory=lambda: ["."])
    broker_url: str | None = None
    pid_file: str | None = None
    log_file: str | None = None
    log_format: str = "text"
    watch: list[str] = field(default_factory=list)
    #: Notice changes under ``watch`` by polling modification times, not by OS events.
    watch_use_polling: bool = False
    shutdown_timeout: int = DEFAULT_SHUTDOWN_TIMEOUT
    max_tasks_per_child: int | None = None
    max_memory_per_child: int | None = None
    gevent: bool = False
    events: bool = False
    spawn: bool = False
    verbose: int = 0
    #: Replace a worker process that sent no heartbeat for this long (ms); 0: never.
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT
    #: Port of the metrics and health server; None: ``taskq_prom_port``, else 9191.
    prom_port: int | None = None
    #: ``module:function`` paths each run in a fork process beside the workers.
    forks: list[str] = field(default_factory=list)
    worker_fork_timeout: float = DEFAULT_WORKER_FORK_TIMEOUT
    #: ``auto``: each worker process stays on one core when there are at least as many
    #: processes as cores (see :mod:`taskq.supervisor.affinity`); ``off``: never.
    cpu_affinity: CpuAffinity = "auto"

    def to_json(self) -> str:
        """These options as a JSON string."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerOptions:
        """Options from :meth:`to_json` output."""
        return cls(**json.loads(text))

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first option that is out of range."""
        if not self.modules:
            raise ValueError("name at least one module to import, e.g. `taskq worker myapp`")
        for spec in self.modules:
            module, _, variable = spec.partition(":")
            if not module or spec.count(":") > 1 or (":" in spec and not variable):
                raise ValueError(
                    f"module {spec!r} is malformed: use MODULE or MODULE:BROKER_VARIABLE"
                )
        if self.processes < 1:
            raise ValueError(f"--processes must be at least 1, got {self.processes}")
        if self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if self.prefetch is not None and self.prefetch < 1:
            raise ValueError(f"--prefetch must be at least 1, got {self.prefetch}")
        if self.shutdown_timeout < 0:
            raise ValueError(f"--shutdown-timeout must be >= 0 ms, got {self.shutdown_timeout}")
        if self.max_tasks_per_child is not None and self.max_tasks_per_child < 1:
            raise ValueError(
                f"--max-tasks-per-child must be at least 1, got {self.max_tasks_per_child}"
            )
        if self.max_memory_per_child is not None and self.max_memory_per_child < 1:
            raise ValueError(
                f"--max-memory-per-child must be at least 1 MB, got {self.max_memory_per_child}"
            )
        if self.heartbeat_timeout != 0 and self.heartbeat_timeout < MIN_HEARTBEAT_TIMEOUT:
            raise ValueError(
                f"--heartbeat-timeout must be 0 (off) or at least {MIN_HEARTBEAT_TIMEOUT} ms, "
                f"got {self.heartbeat_timeout}"
            )
        if self.cpu_affinity not in CPU_AFFINITY_CHOICES:
            raise ValueError(
                f"--cpu-affinity must be one of {', '.join(CPU_AFFINITY_CHOICES)}, "
                f"got {self.cpu_affinity!r}"
            )
        if self.prom_port is not None and not 0 <= self.prom_port <= 65535:
            raise ValueError(f"--prom-port must be from 0 to 65535, got {self.prom_port}")
        if not MIN_WORKER_FORK_TIMEOUT <= self.worker_fork_timeout <= MAX_WORKER_FORK_TIMEOUT:
            raise ValueError(
                f"--worker-fork-timeout must be from {MIN_WORKER_FORK_TIMEOUT:g} to "
                f"{MAX_WORKER_FORK_TIMEOUT:g} ms, got {self.worker_fork_timeout:g}"
            )
        for path in self.forks:
            module, _, function = path.partition(":")
            if not module or not function or path.count(":") > 1:
                raise ValueError(
                    f"--fork-function {path!r} is malformed: use MODULE:FUNCTION, "
                    "e.g. myapp.jobs:run"
                )
        if self.log_format not in ("text", "json"):
            raise ValueError(f"--log-format must be text or json, got {self.log_format!r}")
        for directory in [*self.watch, *self.paths]:
            if not os.path.isdir(directory):
                raise ValueError(f"directory {directory!r} does not exist")


#: Set (to "1") in the environment of a worker process that starts beside the first one: it
#: keeps what it writes to stderr while importing and checking the broker to itself, since the
#: first process reports the same failure (see :mod:`taskq.supervisor.children`).
QUIET_STARTUP_ENV = "TASKQ_QUIET_STARTUP"
