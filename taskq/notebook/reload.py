"""Reload worker processes (SIGHUP) when the Python files of their modules are saved."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger("taskq.notebook")

#: Milliseconds of quiet after a save before reloading (editors save in bursts).
DEBOUNCE_MS = 300


@dataclass
class Reload:
    """One reload: when (``time.time()``) and which files changed."""

    at: float
    files: list[str]


def module_folders(modules: Sequence[str], search_path: Sequence[str]) -> list[str]:
    """The folders holding ``modules`` (a package's own folder, a module's parent folder),
    found on ``search_path`` then ``sys.path`` without importing anything."""
    folders: list[str] = []
    for spec_text in modules:
        name = spec_text.partition(":")[0]
        top = name.split(".")[0]
        folder = None
        for base in [*search_path, *sys.path]:
            if not base or not os.path.isdir(base):
                continue
            if os.path.isfile(os.path.join(base, top + ".py")):
                folder = os.path.abspath(base)
                break
            if os.path.isdir(os.path.join(base, top)):
                folder = os.path.abspath(os.path.join(base, top))
                break
        if folder is None:
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            if spec is not None and spec.origin and spec.origin not in ("built-in", "frozen"):
                folder = os.path.dirname(os.path.abspath(spec.origin))
        if folder is not None and folder not in folders:
            folders.append(folder)
    return folders


class ModuleWatcher:
    """Watches ``folders`` (recursively, Python files only) with watchfiles and calls
    ``on_change(files)`` after each burst of saves. Needs ``pip install 'taskq[watch]'``."""

    def __init__(self, folders: Sequence[str], on_change: Callable[[list[str]], None]) -> None:
        import watchfiles  # noqa: F401 - fail now, with ImportError, if the extra is missing

        self.folders = list(folders)
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskq-reload", daemon=True)

    def start(self) -> ModuleWatcher:
        """Start watching in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (the thread ends within a fraction of a second)."""
        self._stop.set()

    def _run(self) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(
                *self.folders,
                watch_filter=watchfiles.PythonFilter(),
                debounce=DEBOUNCE_MS,
                stop_event=self._stop,
                rust_timeout=500,
                yield_on_timeout=False,
                raise_interrupt=False,
            ):
                files = sorted({path for _change, path in changes})
                try:
                    self.on_change(files)
                except Exception:
                    logger.exception("taskq.notebook: reloading the worker failed")
        except Exception:
            logger.exception("taskq.notebook: watching %s stopped", ", ".join(self.folders))
