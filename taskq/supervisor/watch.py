"""``--watch DIR``: notice changed Python files so the master can reload its workers."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..middleware.threading import is_gevent_active

logger = logging.getLogger("taskq.supervisor")

#: Milliseconds of quiet after a change before it is reported (editors save in bursts).
DEBOUNCE_MS = 300
#: How often (ms) the watcher thread checks whether it should stop.
STOP_CHECK_MS = 500
#: How often (ms) ``--watch-use-polling`` looks at the files.
POLL_INTERVAL_MS = 300

#: A file's identity for the poller: nanosecond modification time and size.
Stamp = tuple[int, int]


def _os_sleep() -> Callable[[float], None]:
    """``time.sleep`` as the OS provides it, even under gevent: a patched sleep in a thread
    gevent does not run would start a second hub there, and two threads starting hubs at once
    deadlock on gevent's import locks."""
    if is_gevent_active():
        from gevent import monkey

        sleep: Callable[[float], None] = monkey.get_original("time", "sleep")
        return sleep
    return time.sleep


def _start_os_thread(target: Callable[[], Any]) -> None:
    """Start ``target`` in a real OS thread, even under gevent: the Rust watcher blocks."""

    if is_gevent_active():
        from gevent import monkey

        start_new_thread = monkey.get_original("_thread", "start_new_thread")
        start_new_thread(target, ())
    else:
        threading.Thread(target=target, name="taskq-watch", daemon=True).start()


class FileWatcher:
    """Watches ``directories`` for changes to ``.py`` files (needs the ``watch`` extra).

    ``polling`` checks the files' modification times instead of asking the operating system to
    report changes: slower, but it also works where change events never arrive (some network
    and container file systems). taskq polls itself, with nanosecond times and sizes, because
    watchfiles' poller compares whole seconds and misses a second save within the same second."""

    def __init__(self, directories: list[str], *, polling: bool = False) -> None:
        import watchfiles  # noqa: F401 - fail early with ImportError if the extra is missing

        self.directories = directories
        self.polling = polling
        self._changed: deque[str] = deque()
        self._stopping = False
        #: Set by the watcher thread once it watches (a polling watcher took its first look).
        self._watching = False
        #: Taken in the calling thread, before the watcher thread exists (see :func:`_os_sleep`).
        self._sleep = _os_sleep()

    def start(self) -> None:
        """Start watching in the background; returns once changes are being noticed (or
        after a bounded wait), so a file saved after the "Watching" line always reloads."""
        _start_os_thread(self._run)
        deadline = time.monotonic() + 4 * STOP_CHECK_MS / 1000
        while not self._watching and time.monotonic() < deadline:
            time.sleep(0.01)
        logger.info("Watching %s for code changes.", ", ".join(self.directories))

    def stop(self) -> None:
        """Stop watching (the thread ends within about half a second)."""
        self._stopping = True

    def take_changes(self) -> list[str]:
        """Paths changed since the last call."""
        changed = []
        while self._changed:
            changed.append(self._changed.popleft())
        return changed

    def _run(self) -> None:
        try:
            if self.polling:
                self._poll()
            else:
                self._watch_events()
        except Exception:
            logger.exception("The file watcher stopped; --watch reloads are off.")

    def _watch_events(self) -> None:
        import watchfiles

        for changes in watchfiles.watch(
            *self.directories,
            watch_filter=watchfiles.PythonFilter(),
            debounce=DEBOUNCE_MS,
            rust_timeout=STOP_CHECK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            self._watching = True
            if self._stopping:
                return
            if changes:
                self._changed.extend(sorted(path for _, path in changes))

    def _poll(self) -> None:
        stamps = self._stamps()
        self._watching = True
        pending: set[str] = set()
        last_change = 0.0
        while not self._stopping:
            self._sleep(POLL_INTERVAL_MS / 1000)
            current = self._stamps()
            changed = {p for p in stamps.keys() | current.keys() if stamps.get(p) != current.get(p)}
            stamps = current
            now = time.monotonic()
            if changed:
                pending |= changed
                last_change = now
            elif pending and now - last_change >= DEBOUNCE_MS / 1000:
                self._changed.extend(sorted(pending))
                pending = set()

    def _stamps(self) -> dict[str, Stamp]:
        stamps = {}
        for path in self._python_files():
            try:
                info = os.stat(path)
            except OSError:
                continue  # removed between the listing and the stat: the next look sees it gone
            stamps[path] = (info.st_mtime_ns, info.st_size)
        return stamps

    def _python_files(self) -> Iterator[str]:
        import watchfiles

        wanted, walkable = watchfiles.PythonFilter(), watchfiles.DefaultFilter()
        for directory in self.directories:
            for root, dirs, files in os.walk(directory):
                dirs[:] = [
                    d for d in dirs if walkable(watchfiles.Change.added, os.path.join(root, d))
                ]
                for name in files:
                    path = os.path.join(root, name)
                    if wanted(watchfiles.Change.modified, path):
                        yield path
