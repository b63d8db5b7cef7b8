"""What the TUI was started with: broker URL, modules, modes, and injectable clocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from taskq.common import mask_url

DEFAULT_METRICS_URL = "http://127.0.0.1:9191/metrics"


@dataclass
class TuiConfig:
    """Settings of one TUI session.

    ``clock`` returns seconds since the epoch; tests freeze it for deterministic screens.
    ``live`` turns off every background poll (snapshot tests feed the screens by hand).
    ``history_limit``: events loaded from the broker at start; ``buffer_size``: messages kept.
    """

    broker_url: str
    modules: list[str] = field(default_factory=list)
    read_only: bool = False
    demo: bool = False
    metrics_urls: list[str] = field(default_factory=lambda: [DEFAULT_METRICS_URL])
    history_limit: int = 10_000
    buffer_size: int = 100_000
    poll_interval: float = 2.0
    clock: Callable[[], float] = time.time
    live: bool = True
    worker_cwd: str | None = None

    @property
    def masked_url(self) -> str:
        """The broker URL with any password hidden."""
        return mask_url(self.broker_url)
