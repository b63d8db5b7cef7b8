"""Fixtures for the RabbitMQ fault and interop tests: vhosts and a second, throwaway node."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest

from .node import SecondNode, rabbitmqctl


@pytest.fixture(scope="session")
def second_node() -> Iterator[SecondNode]:
    """A private RabbitMQ node (own ports and data), stopped and deleted after the session."""
    if os.geteuid() != 0 or shutil.which("rabbitmqctl") is None:
        pytest.skip("starting a second RabbitMQ node needs root and rabbitmq-server")
    node = SecondNode()
    try:
        node.start()
        yield node
    finally:
        node.stop()


@pytest.fixture
def make_vhost() -> Iterator[Callable[[], str]]:
    """``make_vhost()`` creates a vhost guest may use; every one is deleted after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"taskq-test-{uuid.uuid4().hex[:10]}"
        rabbitmqctl("add_vhost", name)
        created.append(name)
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return name

    yield make
    for name in created:
        rabbitmqctl("delete_vhost", name)
