"""The master's metrics and health endpoint (:mod:`taskq.metrics.exposition`): started before
the first worker process, told about each one that exits, stopped on the way out. A failure
here never stops the group; it runs without metrics instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..metrics import exposition
from ..metrics.server import ExpositionServer

logger = logging.getLogger("taskq.supervisor")


class MetricsEndpoint:
    """``/metrics`` and ``/healthz`` for a whole ``taskq worker`` group, served by the master."""

    def __init__(self, port: int | None, health: Callable[[], dict[str, Any]]) -> None:
        self.port = port
        self.health = health
        self.server: Any = None
        self.directory: str | None = None

    def start(self) -> None:
        """Prepare the worker processes' metrics directory and serve it."""
        self.directory = exposition.setup_multiprocess_dir()
        # --prom-port, else taskq_prom_port; the host comes from taskq_prom_host (127.0.0.1).
        server = ExpositionServer(None, self.port, health=self.health)
        try:
            server.start(retry=True)  # a taken port is tried again every second
        except Exception as e:
            logger.warning("Metrics server not started (%s); running without it.", e)
            return
        self.server = server

    def stop(self) -> None:
        """Stop serving and remove the metrics directory."""
        try:
            if self.server is not None:
                self.server.stop()
            exposition.teardown_multiprocess_dir(self.directory)
        except Exception:
            logger.debug("Error while stopping the metrics server.", exc_info=True)

    def child_exited(self, pid: int) -> None:
        """Fold the series of worker process ``pid``, which has exited, into the totals."""
        try:
            exposition.child_exited(pid)
        except Exception:
            logger.debug("Metrics: child_exited(%d) failed.", pid, exc_info=True)
