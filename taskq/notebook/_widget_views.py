"""The ipywidgets side of ``watch()`` and ``queues()`` (imported only when widgets are used)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ._env import display_live
from .watch import LIVE_ROWS

if TYPE_CHECKING:
    from .watch import Watch

#: The fastest a live view redraws (seconds between redraws), final states excepted.
REDRAW_EVERY = 0.2


class LiveOutput:
    """What goes into the notebook: the widget for live front-ends plus static HTML for saved
    files (GitHub and nbviewer render ``text/html`` and skip the widget view)."""

    def __init__(
        self, widget: widgets.Widget, html: Callable[[], str], text: Callable[[], str]
    ) -> None:
        self.widget = widget
        self.html = html
        self.text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = self.text()
        return bundle


class WatchWidget:
    """Progress bar, counts, elapsed time, a table and a Stop button for a :class:`Watch`."""

    def __init__(self, watch: Watch, *, display: bool = True) -> None:
        self.watch = watch
        tracker = watch.tracker
        self.header = widgets.HTML()
        self.progress = widgets.IntProgress(
            value=0, min=0, max=max(tracker.total, 1), description="progress", bar_style="info"
        )
        self.failures = widgets.HTML()  # one line per failure, traceback a click away
        self.table = widgets.HTML()
        self.stop_button = widgets.Button(description="Stop watching", icon="stop")
        self.stop_button.on_click(lambda _button: watch.close())
        self.box = widgets.VBox(
            [self.header, self.progress, self.failures, self.table, self.stop_button]
        )
        self.closed = False
        self._last_draw = 0.0
        self._lock = threading.Lock()
        self._draw(final=False)
        self.handle = (
            display_live(LiveOutput(self.box, self._static_html, watch.to_text))
            if display
            else None
        )

    def _static_html(self) -> str:
        return self.watch.to_html(live=not self.watch.tracker.stopped)

    def refresh(self, final: bool = False) -> None:
        """Redraw (at most every REDRAW_EVERY seconds unless ``final``)."""
        now = time.monotonic()
        if not final and now - self._last_draw < REDRAW_EVERY:
            return
        with self._lock:
            self._draw(final)
            if final and self.handle is not None:
                self.handle.update(LiveOutput(self.box, self._static_html, self.watch.to_text))

    def _draw(self, final: bool) -> None:
        self._last_draw = time.monotonic()
        tracker = self.watch.tracker
        finished = tracker.finished_count()
        self.progress.value = finished
        counts = tracker.counts()
        if final or tracker.stopped:
            self.progress.bar_style = "danger" if counts.get("failed") else "success"
            self.stop_button.disabled = True
        self.header.value = self.watch.header_html()
        if counts.get("failed"):
            self.failures.value = self.watch.failures_html()
        self.table.value = self.watch.table_html(limit=LIVE_ROWS, live=not final)

    def close(self) -> None:
        """Disable the Stop button; the widgets keep their last values."""
        self.closed = True
        self.stop_button.disabled = True


class QueuesWidget:
    """The widget side of :class:`taskq.notebook.queues.QueuesPanel`."""

    def __init__(self, panel: Any, *, display: bool = True) -> None:
        self.panel = panel
        self.html = widgets.HTML(value=panel.to_html())
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _button: panel.refresh())
        self.stop_button = widgets.Button(description="Stop", icon="stop")
        self.stop_button.on_click(lambda _button: panel.close())
        self.box = widgets.VBox([self.html, widgets.HBox([self.refresh_button, self.stop_button])])
        self.handle = (
            display_live(LiveOutput(self.box, panel.to_html, panel.to_text)) if display else None
        )

    def redraw(self, final: bool = False) -> None:
        """Show the panel's latest numbers."""
        self.html.value = self.panel.to_html()
        if final:
            self.stop_button.disabled = True
            if self.handle is not None:
                self.handle.update(LiveOutput(self.box, self.panel.to_html, self.panel.to_text))


#: Milliseconds between redraws of a worker's status widget.
STATUS_EVERY = 500


class StatusWidget:
    """A worker's live status (an in-kernel worker or a worker process) with a Stop button,
    redrawn every STATUS_EVERY ms by a daemon thread until the worker stops.

    ``source`` needs ``to_html()``, ``to_text()``, ``running`` and ``stop()``."""

    def __init__(self, source: Any, *, display: bool = True, interval: int = STATUS_EVERY) -> None:
        self.source = source
        self.interval = interval / 1000
        self.html = widgets.HTML(value=source.to_html())
        self.stop_button = widgets.Button(description="Stop worker", icon="stop")
        self.stop_button.on_click(lambda _button: threading.Thread(target=source.stop).start())
        self.box = widgets.VBox([self.html, self.stop_button])
        self._final = False
        self._lock = threading.Lock()
        self.handle = (
            display_live(LiveOutput(self.box, source.to_html, source.to_text)) if display else None
        )
        self._thread = threading.Thread(target=self._run, name="taskq-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._final and self.source.running:
            time.sleep(self.interval)
            if not self._final:
                self.refresh()
        self.refresh(final=True)

    def refresh(self, final: bool = False) -> None:
        """Redraw; once ``final``, leave static HTML in the saved notebook."""
        with self._lock:
            if self._final:
                return
            self.html.value = self.source.to_html()
            if final:
                self._final = True
                self.stop_button.disabled = True
                if self.handle is not None:
                    self.handle.update(
                        LiveOutput(self.box, self.source.to_html, self.source.to_text)
                    )
