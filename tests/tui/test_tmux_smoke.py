"""`taskq tui --demo` in a real terminal (tmux): keys in, screen text out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """A detached 120x40 tmux session on a private server socket."""

    def __init__(self, command: str) -> None:
        self.socket = f"taskq-tui-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-s", "tui", "-x", "120", "-y", "40", command)

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def alive(self) -> bool:
        return "tui" in self.tmux("list-sessions")

    def close(self) -> None:
        self.tmux("kill-server")


def processes_in(directory: Path, marker: str) -> list[psutil.Process]:
    """Processes whose command line contains ``marker`` and whose working directory is
    ``directory`` (each test runs in its own tmp_path, so this never matches anyone else's)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if marker in cmdline and proc.info["cwd"] == str(directory):
            found.append(proc)
    return found


def demo_workers(directory: Path) -> list[psutil.Process]:
    """Demo worker processes started in ``directory``."""
    return processes_in(directory, "taskq_tui.demo_actors")


def tui_processes(directory: Path) -> list[psutil.Process]:
    """``taskq tui`` processes started in ``directory``."""
    return [p for p in processes_in(directory, "-m taskq tui") if "sh -c" not in p.name()]


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(f"cd {tmp_path} && {sys.executable} -m taskq tui --demo")
    yield term
    term.close()
    for proc in tui_processes(tmp_path) + demo_workers(tmp_path):  # only if a test failed
        proc.kill()


def test_demo_in_a_real_terminal(terminal: Terminal, tmp_path: Path) -> None:
    wait_for(lambda: "● connected" in terminal.screen(), 30, message="the connected header")
    screen = terminal.screen()
    assert "[DEMO]" in screen and "sqlite:///.taskq/taskq.db" in screen
    wait_for(lambda: "worker" in terminal.screen(), 30, message="demo worker processes listed")

    terminal.keys("2")
    wait_for(lambda: "succeeded" in terminal.screen(), 45, message="succeeded events in the tail")

    terminal.keys("4")
    wait_for(lambda: "Dead letters of demo" in terminal.screen(), 20, message="the queues tab")

    terminal.keys("?")
    wait_for(lambda: "taskq control room" in terminal.screen(), 20, message="the help screen")
    terminal.keys("Escape")
    wait_for(lambda: "taskq control room" not in terminal.screen(), 20, message="help closed")

    terminal.keys("q")
    screen = wait_for(
        lambda: (
            (not terminal.alive() or "Stop and quit" in terminal.screen())
            and (terminal.screen() if terminal.alive() else "exited")
        ),
        30,
        message="quit or its confirm",
    )
    if "Stop and quit" in screen:  # work was in flight: confirm the graceful stop
        terminal.keys("y")
    wait_for(lambda: not terminal.alive(), 60, message="the TUI to exit")
    wait_for(lambda: not demo_workers(tmp_path), 30, message="demo workers stopped")


def test_closing_the_terminal_stops_the_workers_and_exits(
    terminal: Terminal, tmp_path: Path
) -> None:
    """Killing the tmux server hangs the terminal up (SIGHUP, then SIGCONT): the TUI must stop
    its worker group gracefully and exit, not hang on its dead output."""
    wait_for(lambda: "● connected" in terminal.screen(), 30, message="the connected header")
    workers = wait_for(lambda: len(demo_workers(tmp_path)) >= 2 and demo_workers(tmp_path), 30)
    (tui,) = wait_for(lambda: tui_processes(tmp_path), 10, message="the TUI process")
    terminal.keys("2")  # keep the screen busy redrawing while the terminal goes away
    wait_for(lambda: "succeeded" in terminal.screen(), 45, message="succeeded events in the tail")

    terminal.close()
    try:
        tui.wait(timeout=30)
    except psutil.TimeoutExpired:
        pytest.fail("the TUI was still running 30 s after its terminal was closed")
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"demo workers outlived the TUI: {[p.pid for p in alive]}"
