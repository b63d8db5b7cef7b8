"""Fixtures for the RabbitMQ fault and interop tests: vhosts and a second, throwaway node."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from ...factories.rabbitmq import temporary_vhost
from .node import SecondNode


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
    with ExitStack() as stack:
        yield lambda: stack.enter_context(temporary_vhost())
