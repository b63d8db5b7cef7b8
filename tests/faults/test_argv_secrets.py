"""No secret in process arguments (issue 26): ``taskq worker --spawn --broker URL`` hands the
URL to its worker processes through the environment, so ``ps`` never shows the password of
a worker process (the master's own command line is what its caller typed)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

import taskq
from taskq.brokers.redis import RedisBroker

from .support import RedisServer, spare_port
from .test_security import run_worker, write_app

pytestmark = pytest.mark.faults

PASSWORD = "s3cret-Argv-pw"


def test_spawned_workers_never_carry_the_password_in_argv(tmp_path: Path, queue_name: str) -> None:
    server = RedisServer(tmp_path, spare_port())
    server.start("--requirepass", PASSWORD)
    write_app(tmp_path, queue_name)
    url = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
    cli = run_worker(tmp_path, url, "--spawn", "-p", "2")
    try:
        children = cli.wait_children(2, timeout=60)
        ps = subprocess.run(
            ["ps", "-ww", "-o", "pid=,args=", "-g", str(cli.pid)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = {int(line.split(None, 1)[0]): line for line in ps.splitlines() if line.strip()}
        assert set(children) <= set(lines), ps
        leaking = [line for pid, line in lines.items() if pid != cli.pid and PASSWORD in line]
        assert leaking == [], leaking
        assert PASSWORD in lines[cli.pid]  # the grep sees whole lines: the master's was typed
        assert all("spawned_main" in lines[pid] for pid in children), ps
        broker = RedisBroker(url=url)
        try:  # the children reach the password-protected server with the URL they were given
            broker.declare_queue(queue_name)
            broker.enqueue(taskq.Message(queue_name=queue_name, actor_name="noop", args=(5,)))
            cli.wait_for_output("processed 5", 60)
        finally:
            broker.close()
        cli.signal(signal.SIGTERM)
        assert cli.wait(60) == 0, cli.output()[-3000:]
        assert PASSWORD not in cli.output()
    finally:
        cli.kill_all()
        server.stop()
