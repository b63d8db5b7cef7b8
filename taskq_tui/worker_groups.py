"""Worker groups the TUI launches: `taskq worker` masters, their children, signals and logs."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psutil

from taskq.cli.worker import worker_command
from taskq.exit_codes import exit_code_meaning


@dataclass
class GroupSpec:
    """What to launch: the arguments of one `taskq worker` command."""

    modules: list[str]
    processes: int = 1
    threads: int = 8
    queues: list[str] = field(default_factory=list)
    gevent: bool = False
    broker_url: str | None = None
    events: bool = True

    def __post_init__(self) -> None:
        if not self.modules or not all(m.strip() for m in self.modules):
            raise ValueError("Give at least one module to import, e.g. myapp.tasks")
        if not 1 <= self.processes <= 64:
            raise ValueError(f"processes must be between 1 and 64, got {self.processes}")
        if not 1 <= self.threads <= 1024:
            raise ValueError(f"threads must be between 1 and 1024, got {self.threads}")

    def command(self) -> list[str]:
        """The argv that starts this group."""
        return worker_command(
            self.modules,
            processes=self.processes,
            threads=self.threads,
            queues=self.queues,
            broker_url=self.broker_url,
            events=self.events,
            gevent=self.gevent,
        )


@dataclass(frozen=True)
class ProcessRow:
    """One line of the workers table."""

    group: str
    role: str
    pid: int
    state: str
    uptime_s: float
    cpu_percent: float
    rss_bytes: int


class WorkerGroup:
    """One launched master and its children. Methods are safe to call from worker threads."""

    def __init__(self, name: str, spec: GroupSpec, cwd: str | None = None) -> None:
        self.name = name
        self.spec = spec
        self.cwd = cwd
        self.log: collections.deque[str] = collections.deque(maxlen=500)
        self.process: subprocess.Popen[str] | None = None
        self.term_sent = 0
        self.started_at = 0.0
        self._procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> int:
        """Start the master; returns its PID."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            self.spec.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
        )
        self.term_sent = 0
        self.started_at = time.time()
        self.log.append(f"$ {' '.join(self.spec.command())}  (pid {self.process.pid})")
        return self.process.pid

    def read_output(self) -> None:
        """Block reading the master's output into ``log`` until it closes (run in a thread)."""
        process = self.process
        if process is None or process.stdout is None:
            return
        for line in process.stdout:
            self.log.append(line.rstrip("\n"))
        code = process.wait()
        self.log.append(f"[exited with code {code}: {exit_code_meaning(code)}]")

    @property
    def pid(self) -> int | None:
        """The master's PID."""
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        """The master's exit code, or None while it runs."""
        return self.process.poll() if self.process else None

    @property
    def running(self) -> bool:
        """True while the master is alive."""
        return self.process is not None and self.process.poll() is None

    @property
    def state(self) -> str:
        """running / stopping / killing / exited N (meaning)."""
        code = self.returncode
        if code is not None:
            return f"exited {code} ({exit_code_meaning(code)})"
        if self.term_sent >= 2:
            return "killing"
        if self.term_sent == 1:
            return "stopping"
        return "running"

    # -- signals --------------------------------------------------------------------------
    def send(self, sig: signal.Signals) -> bool:
        """Send ``sig`` to the master; False when it already exited."""
        if not self.running or self.process is None:
            return False
        if sig == signal.SIGTERM:
            self.term_sent += 1
        self.process.send_signal(sig)
        self.log.append(f"[sent {sig.name}]")
        return True

    def reload(self) -> bool:
        """HUP: the master replaces its workers with fresh ones."""
        return self.send(signal.SIGHUP)

    def stop(self) -> bool:
        """TERM: graceful on the first call, a kill on the second."""
        return self.send(signal.SIGTERM)

    def kill(self) -> bool:
        """KILL the master and its children at once."""
        if not self.running or self.process is None:
            return False
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                child.kill()
        return self.send(signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the master to exit; returns its code or None."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    # -- inspection -----------------------------------------------------------------------
    def child_pids(self) -> list[int]:
        """PIDs of the master's live worker processes."""
        return sorted(p.pid for p in self._children())

    def rows(self, now: float) -> list[ProcessRow]:
        """Master + children with CPU, RSS and uptime (CPU % is measured since the last call)."""
        if self.process is None:
            return []
        if not self.running:
            return [ProcessRow(self.name, "master", self.process.pid, self.state, 0, 0.0, 0)]
        rows = []
        procs = [(p, "worker") for p in self._children()]
        master = self._proc(self.process.pid)
        if master is not None:
            procs.insert(0, (master, "master"))
        for proc, role in procs:
            try:
                with proc.oneshot():
                    state = self.state if role == "master" else proc.status()
                    rows.append(
                        ProcessRow(
                            self.name,
                            role,
                            proc.pid,
                            state,
                            max(0.0, now - proc.create_time()),
                            proc.cpu_percent(None),
                            proc.memory_info().rss,
                        )
                    )
            except psutil.Error:
                continue
        return rows

    def _proc(self, pid: int) -> psutil.Process | None:
        with self._lock:
            proc = self._procs.get(pid)
            if proc is None:
                try:
                    proc = self._procs[pid] = psutil.Process(pid)
                    proc.cpu_percent(None)
                except psutil.Error:
                    return None
            return proc

    def _children(self) -> list[psutil.Process]:
        master = self._proc(self.process.pid) if self.process else None
        if master is None:
            return []
        try:
            children = master.children(recursive=False)
        except psutil.Error:
            return []
        return [p for p in (self._proc(c.pid) for c in children) if p is not None]
