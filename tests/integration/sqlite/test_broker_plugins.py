"""Third-party brokers plug in through the ``taskq.brokers`` entry-point group."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ENTRY_POINTS = """\
[taskq.brokers]
memq = taskq_memq:broker_from_url
"""

PLUGIN = '''\
"""A toy broker for the memq:// scheme: an in-memory StubBroker that remembers its URL."""
from taskq.brokers.stub import StubBroker


class MemqBroker(StubBroker):
    def __init__(self, url, **kwargs):
        super().__init__(**kwargs)
        self.url = url


def broker_from_url(url, **kwargs):
    return MemqBroker(url, **kwargs)
'''


def build_wheel(directory: Path) -> Path:
    """Build the taskq-memq wheel by hand (no build backend needed): code, metadata, RECORD."""
    dist_info = "taskq_memq-0.1.0.dist-info"
    files = {
        "taskq_memq/__init__.py": PLUGIN,
        f"{dist_info}/METADATA": "Metadata-Version: 2.1\nName: taskq-memq\nVersion: 0.1.0\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: taskq-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": ENTRY_POINTS,
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / "taskq_memq-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def test_an_installed_package_adds_a_url_scheme(tmp_path):
    wheel = build_wheel(tmp_path)
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    probe = textwrap.dedent(
        """
        import taskq
        from taskq.urls import broker_from_url
        broker = broker_from_url("memq://local/jobs")
        print(type(broker).__name__, broker.url)

        @taskq.actor(broker=broker, queue_name="jobs")
        def ping():
            return "pong"

        ping.send()
        print(broker.queue_stats()["jobs"]["ready"])
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.getcwd()])}
    child = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n")[:2] == ["MemqBroker memq://local/jobs", "1"]


def test_without_the_package_the_scheme_is_unknown_and_named(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", "import taskq.urls; taskq.urls.broker_from_url('memq://x')"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode != 0
    assert "Unknown broker URL scheme 'memq'" in child.stderr
    assert "taskq.brokers" in child.stderr
