"""Worker processes tell middleware that the application is imported (``after_process_boot``),
as Dramatiq's worker processes do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.helpers import wait_for


def test_middleware_hears_after_process_boot_in_each_worker_process(tmp_path):
    (tmp_path / "bootapp.py").write_text(
        textwrap.dedent(
            f"""
            import os
            import taskq
            from taskq.brokers.stub import StubBroker

            class Boot(taskq.Middleware):
                def after_process_boot(self, broker):
                    open(os.path.join({str(tmp_path)!r}, f"boot-{{os.getpid()}}"), "w").close()

            broker = StubBroker()
            broker.add_middleware(Boot())

            @taskq.actor(broker=broker)
            def job():
                pass
            """
        )
    )
    env = {**os.environ, "taskq_prom_port": "0"}
    master = subprocess.Popen(
        [sys.executable, "-m", "taskq", "worker", "bootapp:broker", "-p", "2", "-t", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(list(tmp_path.glob("boot-*"))) == 2, timeout=60, message="2 boots")
    finally:
        master.send_signal(signal.SIGTERM)
        assert master.wait(60) == 0
