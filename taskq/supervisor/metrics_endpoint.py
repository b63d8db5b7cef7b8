"""The master's metrics and health endpoint (:mod:`taskq.metrics.exposition`): its directory is
made before the first worker process, its port opened right after the first ones are forked,
it is told about each one that exits and stopped on the way out. A failure here never stops the
group; it runs without metrics instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..metrics import exposition

logger = logging.getLogger("taskq.supervisor")


class MetricsEndpoint:
    """``/metrics`` and ``/healthz`` for a whole ``taskq worker`` group, served by the master."""

    def __init__(self, port: int | None, health: Callable[[], dict[str, Any]]) -> None:
        self.port = port
        self.health = health
        self.server: Any = None
        self.directory: str | None = None
        self._serve_tried = False

    def prepare(self) -> None:
        """Make the metrics directory the worker processes write to (before they are forked)."""
        self.directory = exposition.setup_multiprocess_dir()

    def serve(self) -> None:
        """Open the port, once (later calls do nothing). The master calls this after forking
        its first worker processes, which need neither the socket nor ``http.server``."""
        if self._serve_tried:
            return
        self._serve_tried = True
        # Imported here, not at the top: http.server and its imports cost the master about
        # 10 ms, which would otherwise delay the first worker processes' start.
        from ..metrics.server import ExpositionServer

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
