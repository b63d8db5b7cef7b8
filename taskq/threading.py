"""Raising an exception inside another thread (CPython) or greenlet (gevent): Dramatiq's
``dramatiq.threading`` under the same names, plus the guard that keeps interrupts inside actor
code.

:func:`raise_thread_exception` works on any thread, as Dramatiq's does, with one exception: a
taskq worker thread (inside :func:`worker_thread_guard`) only takes an interrupt while it runs
actor code (inside :func:`interruptible`). Raised anywhere else (inside logging, a broker
client, an ack) an interrupt could leave a lock held forever; such a request is declined.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from _thread import get_ident
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "Interrupt",
    "current_platform",
    "is_gevent_active",
    "raise_thread_exception",
    "supported_platforms",
]

logger = logging.getLogger(__name__)

#: The Python implementation running, as ``platform.python_implementation()`` names it (read
#: from ``sys``: the platform module costs every ``import taskq`` a millisecond and a half).
current_platform = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython"}.get(
    sys.implementation.name, sys.implementation.name
)
#: The Python version as a tuple of strings, as Dramatiq exposes it.
python_version = tuple(str(part) for part in sys.version_info[:3])
#: The implementations on which an exception can be raised in another thread.
supported_platforms = {"CPython"}


def is_gevent_active() -> bool:
    """True when gevent has monkey-patched the threading module."""
    monkey = sys.modules.get("gevent.monkey")  # never patched unless already imported
    if monkey is None:
        return False
    return bool(monkey.is_module_patched("threading"))


class Interrupt(BaseException):  # noqa: N818 - Dramatiq's name
    """Base class for exceptions raised asynchronously inside a running actor's thread.

    It derives from BaseException so that a bare ``except Exception`` in user code does not
    swallow it (and it is not a :class:`~taskq.errors.TaskqError` for the same reason).
    """

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message, *args)
        self.message = message


# Worker threads: they take interrupts only inside an interruptible block.
_guarded: set[int] = set()
# Guarded threads currently running actor code.
_interruptible: set[int] = set()
#: Guarded threads an interrupt was requested for since they entered their block.
_requested: set[int] = set()
_interruptible_lock = threading.Lock()


def current_thread_id() -> int:
    """The id used by :func:`raise_thread_exception` for the calling thread or greenlet."""
    monkey = sys.modules.get("gevent.monkey")  # is_gevent_active(), inlined: hot path
    if monkey is not None and monkey.is_module_patched("threading"):
        import greenlet

        return id(greenlet.getcurrent())
    return get_ident()


@contextmanager
def worker_thread_guard() -> Iterator[None]:
    """Mark the calling thread as a worker thread for the duration of a ``with`` block: from
    then on it takes interrupts only inside :func:`interruptible` blocks."""
    thread_id = current_thread_id()
    with _interruptible_lock:
        _guarded.add(thread_id)
    try:
        yield
    finally:
        with _interruptible_lock:
            _guarded.discard(thread_id)


class _Interruptible:
    """The context manager :func:`interruptible` returns."""

    __slots__ = ("thread_id",)

    def __enter__(self) -> None:
        self.thread_id = thread_id = current_thread_id()
        with _interruptible_lock:
            _interruptible.add(thread_id)

    def __exit__(self, *exc_info: object) -> None:
        thread_id = self.thread_id
        while True:
            try:
                with _interruptible_lock:
                    _interruptible.discard(thread_id)
                    if thread_id in _requested:
                        _requested.discard(thread_id)
                        if not is_gevent_active():
                            _set_async_exc(thread_id, None)
                break
            except Interrupt:  # requested just as the actor finished: too late, drop it
                continue


def interruptible() -> _Interruptible:
    """Mark the calling thread as running actor code for the duration of a ``with`` block.

    In a worker thread (see :func:`worker_thread_guard`), interrupts are only delivered inside
    such a block. On the way out, an interrupt that was requested but not yet raised is
    cancelled, so none can escape into the worker's own code.
    """
    return _Interruptible()


def raise_thread_exception(thread_id: int, exception: type[BaseException]) -> bool:
    """Arrange for ``exception`` to be raised in the thread (or greenlet) ``thread_id``.

    The exception fires at the thread's next Python bytecode; a thread blocked in C code only
    sees it when the call returns. A taskq worker thread that is not running actor code
    declines it. Returns whether the exception was set; failures are logged as Dramatiq logs
    them (critical: no such thread, or a platform that cannot do it).
    """
    name = (exception if inspect.isclass(exception) else type(exception)).__name__
    if is_gevent_active():
        return _raise_in_greenlet(thread_id, exception)
    if current_platform not in supported_platforms:
        logger.critical(
            "Setting thread exceptions (%s) is not supported for your current platform (%r).",
            name,
            current_platform,
        )
        return False
    with _interruptible_lock:
        if thread_id in _guarded and thread_id not in _interruptible:
            logger.debug(
                "Not raising %s in worker thread %d: no actor is running.", name, thread_id
            )
            return False
        count = _set_async_exc(thread_id, exception)
        if count == 1 and thread_id in _interruptible:
            _requested.add(thread_id)
    if count == 0:
        logger.critical("Failed to set exception (%s) in thread %d.", name, thread_id)
        return False
    if count > 1:  # pragma: no cover - CPython never reports more than one
        logger.critical("Exception (%s) was set in multiple threads.  Undoing...", name)
        _set_async_exc(thread_id, None)
        return False
    return True


def _set_async_exc(thread_id: int, exception: type[BaseException] | None) -> int:
    """CPython's ``PyThreadState_SetAsyncExc`` (None cancels a pending exception); returns how
    many threads it reached."""
    import ctypes  # a millisecond of import, paid only by the first interrupt

    target = None if exception is None else ctypes.py_object(exception)
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target))


def _raise_in_greenlet(thread_id: int, exception: type[BaseException]) -> bool:
    import gc

    import greenlet

    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and id(obj) == thread_id:
            import gevent

            # Throwing from the hub keeps the current greenlet running undisturbed.
            gevent.get_hub().loop.run_callback(_throw_unless_finished, obj, exception)
            return True
    logger.critical("Failed to set exception (%s) in greenlet %d.", exception.__name__, thread_id)
    return False


def _throw_unless_finished(target: object, exception: type[BaseException]) -> None:
    # The greenlet may have finished its actor (or died) between the decision and this
    # callback; throwing then would land in the worker's code or in the hub.
    if target.dead:  # type: ignore[attr-defined]
        return
    target_id = id(target)
    if target_id in _guarded and target_id not in _interruptible:
        return
    target.throw(exception)  # type: ignore[attr-defined]
