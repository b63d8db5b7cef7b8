"""Measure the TUI's own CPU while it tails 1,000 events/s (a measurement, not a test).

Runs ``taskq tui --broker sqlite:///...`` in a real terminal (tmux, 120x40) on the Messages tab,
publishes 1,000 lifecycle events per second from a separate process, and samples the TUI
process's CPU with psutil. Usage: python -m tests.tui.measure_tail_cpu [seconds]
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import time
import uuid

import psutil

RATE = 1000


def publish(url: str, seconds: float) -> None:
    from taskq.urls import broker_from_url

    broker = broker_from_url(url)
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * RATE)
        while sent < due:
            sent += 1
            broker.publish_event(
                {
                    "event": ("enqueued", "started", "succeeded")[sent % 3],
                    "message_id": str(uuid.UUID(int=sent // 3)),
                    "queue_name": "bench",
                    "actor_name": "tick",
                    "timestamp": int(time.time() * 1000),
                    "worker": "bench:1",
                    "args": [sent],
                }
            )
        time.sleep(0.005)
    broker.close()


def main(seconds: float = 20.0) -> None:
    directory = tempfile.mkdtemp()
    url = f"sqlite:///{directory}/bench.db"
    socket = f"taskq-cpu-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", socket]
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            f"{sys.executable} -m taskq tui --broker {url}",
        ],
        check=True,
    )
    try:
        time.sleep(3)
        pane_pid = int(
            subprocess.check_output([*tmux, "list-panes", "-F", "#{pane_pid}"]).split()[0]
        )
        tui = psutil.Process(pane_pid)
        feeder = multiprocessing.Process(target=publish, args=(url, seconds + 2))
        feeder.start()
        time.sleep(2)
        before = tui.cpu_times()
        t0 = time.monotonic()
        time.sleep(seconds)
        after = tui.cpu_times()
        elapsed = time.monotonic() - t0
        busy = (after.user - before.user) + (after.system - before.system)
        screen = subprocess.check_output([*tmux, "capture-pane", "-p"], text=True)
        feeder.join()
        seen = [line for line in screen.splitlines() if " messages" in line]
        print(
            f"TUI CPU while tailing {RATE} events/s: {100 * busy / elapsed:.1f}% of one core "
            f"over {elapsed:.0f}s; tail counter: {seen[-1].strip() if seen else '?'}"
        )
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
