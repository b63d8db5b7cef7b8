"""Run one Markdown page as a reader would: its blocks in order, in a fresh folder.

A page session has its own empty folder and a clean environment: ``PATH`` leads to the
project's venv (so ``taskq`` and ``python`` are the ones under test) and no ``TASKQ_*``
variable is set unless the text exports it. Each block runs in its own process; background
commands (see :mod:`tests.docs.shell`) keep running until :meth:`Session.close`, which stops
them with SIGTERM and requires exit code 0, as a reader pressing Ctrl-C would expect.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .blocks import Block
from .expect import missing_outputs, promised_outputs
from .isolation import isolate
from .shell import ANOTHER_TERMINAL, Step, steps

SHELL = {"bash", "console", "sh", "shell"}
PYTHON = {"python", "py"}
#: Bounds, never waits: each is the most a step may take before the page fails.
RUN_TIMEOUT_S = 90.0
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_WORKER_READY = "Worker process started"
_EVENTS_READY = "Following events on"


class PageFailed(AssertionError):
    """A block of the page did not run as written."""


def clean_env(home: Path, venv_bin: Path | None = None) -> dict[str, str]:
    """The environment a reader's fresh terminal has, with a venv (by default the one running
    the tests) first on PATH."""
    venv_bin = venv_bin or Path(sys.executable).parent
    return {
        "PATH": f"{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }


def _cores() -> int:
    """The cores ``taskq worker`` starts one process per by default."""
    return len(os.sched_getaffinity(0)) or 1


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Background:
    """A command left running: a worker, an event tail, a block run "in another terminal"."""

    where: str
    text: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_marker: str | None
    ready_count: int
    log_file: Path | None

    def output(self) -> str:
        text = self.log.read_text(errors="replace")
        if self.log_file is not None and self.log_file.exists():
            text += self.log_file.read_text(errors="replace")
        return text

    def describe(self) -> str:
        return f"{self.where}: `{self.text}`"


def _option(argv: list[str], *names: str) -> str | None:
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
            if not name.startswith("--") and word.startswith(name) and word != name:
                return word[len(name) :]
    return None


class Session:
    """A fresh folder and terminal environment in which a page's blocks run in order."""

    def __init__(self, folder: Path, logs: Path, venv_bin: Path | None = None) -> None:
        self.folder, self.logs = folder, logs
        folder.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        home = logs / "home"
        home.mkdir(exist_ok=True)
        self.env = clean_env(home, venv_bin)
        self.background: list[Background] = []
        self.ran: list[str] = []
        self.skipped: list[str] = []

    # -- blocks ------------------------------------------------------------------------------
    def run(self, block: Block) -> None:
        """Run one block of the page (or write it, for a ``# name.py`` block)."""
        if block.lang in PYTHON:
            self._python(block)
        elif block.lang in SHELL:
            self._shell(block)
        else:
            return
        self.ran.append(block.where)

    def _python(self, block: Block) -> None:
        code = isolate(block.code)
        if block.filename:
            target = self.folder / block.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)
            return
        argv = [self._which("python"), "-c", code]
        if ANOTHER_TERMINAL.search(block.intro):
            self._start(block.where, "python (the block)", argv, {}, None)
            return
        done = self._foreground(block.where, "python", argv)
        missing = missing_outputs(promised_outputs(block.code), done.stdout)
        if missing:
            raise PageFailed(
                f"{block.where}: the block prints\n{_tail(done.stdout)}\n"
                f"but the text promises the line(s) {missing}"
            )

    def _shell(self, block: Block) -> None:
        script: list[str] = []
        for step in steps(isolate(block.code), bool(ANOTHER_TERMINAL.search(block.intro))):
            if step.kind == "run":
                script.append(step.text)
                continue
            self._flush(block, script)
            if step.kind == "install":
                self.skipped.append(f"{block.where}: {step.text}")
            elif step.kind == "export":
                self.env.update(step.env)
            else:
                self._start(block.where, step.text, step.argv, step.env, step)
        self._flush(block, script)

    def _flush(self, block: Block, script: list[str]) -> None:
        if script:
            text = "\n".join(["set -e", *script])
            self._foreground(block.where, " && ".join(script), ["bash", "-c", text])
            script.clear()

    # -- processes ---------------------------------------------------------------------------
    def _which(self, name: str) -> str:
        found = shutil.which(name, path=self.env["PATH"])
        if found is None:
            raise PageFailed(f"`{name}` is not on the session's PATH {self.env['PATH']}")
        return found

    def _foreground(self, where: str, text: str, argv: list[str]) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(
                argv,
                cwd=self.folder,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise PageFailed(f"{where}: `{text}` did not finish in {RUN_TIMEOUT_S:.0f} s") from e
        if done.returncode != 0:
            raise PageFailed(
                f"{where}: `{text}` exited with {done.returncode}\n--- stderr ---\n"
                f"{_tail(done.stderr)}\n--- stdout ---\n{_tail(done.stdout, 10)}"
            )
        return done

    def _start(
        self, where: str, text: str, argv: list[str], env: dict[str, str], step: Step | None
    ) -> None:
        log = self.logs / f"background-{len(self.background)}.log"
        out: IO[bytes] = log.open("wb")
        try:
            process = subprocess.Popen(
                [self._which(argv[0]), *argv[1:]],
                cwd=self.folder,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()
        marker, count, log_file = self._readiness(argv)
        job = Background(where, text, process, log, marker, count, log_file)
        self.background.append(job)
        self._wait_ready(job)

    def _readiness(self, argv: list[str]) -> tuple[str | None, int, Path | None]:
        words = argv[1:] if argv[0] == "taskq-gevent" else argv[2:]
        worker = argv[0] == "taskq-gevent" or argv[:2] == ["taskq", "worker"]
        log_file = _option(words, "--log-file")
        log_path = self.folder / log_file if log_file else None
        if worker:
            processes = int(_option(words, "--processes", "-p") or _cores())
            return _WORKER_READY, processes, log_path
        if argv[:2] == ["taskq", "events"] and "--json" not in words:
            return _EVENTS_READY, 1, None
        return None, 0, None

    def _wait_ready(self, job: Background) -> None:
        """Wait (bounded) until a background command says it is ready, as a reader would."""
        if job.ready_marker is None:
            return
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if job.output().count(job.ready_marker) >= job.ready_count:
                return
            if job.process.poll() is not None:
                raise PageFailed(
                    f"{job.describe()} exited with {job.process.returncode} before it was "
                    f"ready\n--- output ---\n{_tail(job.output())}"
                )
            time.sleep(0.05)
        raise PageFailed(f"{job.describe()} was not ready after {READY_TIMEOUT_S:.0f} s")

    def close(self) -> None:
        """Stop every background command with SIGTERM; each must exit 0 in time."""
        problems = []
        for job in reversed(self.background):
            problem = self._stop(job)
            if problem:
                problems.append(problem)
        self.background.clear()
        if problems:
            raise PageFailed("\n\n".join(problems))

    def _stop(self, job: Background) -> str | None:
        process = job.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything it left behind
            process.wait()
        if code == 0:
            return None
        outcome = "did not stop" if code is None else f"exited with {code}"
        return f"{job.describe()} {outcome} after SIGTERM\n--- output ---\n{_tail(job.output())}"
