"""The multi-tenancy examples, against the real Redis and RabbitMQ on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from .support import run_example


@pytest.mark.redis
def test_redis_namespaces_keep_tenants_apart(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    a, b = (f"example-{uuid.uuid4().hex[:8]}" for _ in range(2))
    out = run_example("redis_namespaces.py", a, b, cwd=tmp_path).stdout
    invoiced = sorted(re.findall(r"\[(\S+)\] invoicing (\w+)", out))
    assert invoiced == sorted([(a, "acme"), (a, "globex"), (b, "initech")])
    assert "workers exited with codes [0, 0]" in out
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert not list(client.scan_iter(f"{a}:*")) and not list(client.scan_iter(f"{b}:*"))
    finally:
        client.close()


def rabbitmqctl_each(*commands: list[str], check: bool = True) -> None:
    """Run several ``rabbitmqctl`` commands at once (each takes a second or two to start)."""
    running = [
        subprocess.Popen(["rabbitmqctl", *c], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for c in commands
    ]
    for command, process in zip(commands, running, strict=True):
        _, stderr = process.communicate(timeout=60)
        if check and process.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(command)} failed: {stderr.decode()}")


@pytest.mark.rabbitmq
def test_rabbitmq_vhosts_keep_tenants_apart(tmp_path: Path) -> None:
    pytest.importorskip("pika")
    vhosts = [f"example-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        # the commands docs/multi-tenancy.md shows
        rabbitmqctl_each(*(["add_vhost", vhost] for vhost in vhosts))
        rabbitmqctl_each(
            *(["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"] for vhost in vhosts)
        )
        out = run_example("rabbitmq_vhosts.py", *vhosts, cwd=tmp_path).stdout
    finally:
        rabbitmqctl_each(*(["delete_vhost", vhost] for vhost in vhosts), check=False)
    a, b = vhosts
    shipped = sorted(re.findall(r"\[(\S+)\] shipping (#\d+)", out))
    assert shipped == sorted([(a, "#1001"), (a, "#1002"), (b, "#2001")])
    assert "workers exited with codes [0, 0]" in out
