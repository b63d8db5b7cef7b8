"""Raising an exception inside another thread (CPython) or greenlet (gevent)."""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from typing import Any

from ..errors import TaskqError
from .middleware import Middleware

logger = logging.getLogger("taskq.middleware.threading")


class Interrupt(BaseException):  # noqa: N818 - Dramatiq's name
    """Base class for exceptions raised asynchronously inside a running actor's thread.

    It derives from BaseException so that a bare ``except Exception`` in user code does not
    swallow it.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def current_platform_supported() -> bool:
    """True when asynchronous exceptions can be raised in threads here (CPython)."""
    return hasattr(ctypes, "pythonapi")


def is_gevent_active() -> bool:
    """True when gevent has monkey-patched the threading module."""
    monkey = sys.modules.get("gevent.monkey")  # never patched unless already imported
    if monkey is None:
        return False
    return bool(monkey.is_module_patched("threading"))


# Threads currently running actor code, the only place an Interrupt may land: raised
# anywhere else (inside logging, a broker client, an ack) it could leave a lock held forever.
_interruptible: set[int] = set()
#: Threads an interrupt was requested for since they entered their block.
_requested: set[int] = set()
_interruptible_lock = threading.Lock()


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
                            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                                ctypes.c_ulong(thread_id), None
                            )
                break
            except Interrupt:  # requested just as the actor finished: too late, drop it
                continue


def interruptible() -> _Interruptible:
    """Mark the calling thread as running actor code for the duration of a ``with`` block.

    Interrupts are only delivered inside such a block. On the way out, an interrupt that was
    requested but not yet raised is cancelled, so none can escape into the worker's own code.
    """
    return _Interruptible()


def raise_thread_exception(thread_id: int, exception: type[BaseException]) -> bool:
    """Arrange for ``exception`` to be raised in the thread (or greenlet) ``thread_id``, if it
    is running actor code (see :func:`interruptible`).

    The exception fires at the thread's next Python bytecode; a thread blocked in C code only
    sees it when the call returns. Returns False if the thread is not running an actor.
    """
    if is_gevent_active():
        return _raise_in_greenlet(thread_id, exception)
    with _interruptible_lock:
        if thread_id not in _interruptible:
            return False
        count = ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(exception)
        )
        if count == 1:
            _requested.add(thread_id)
    if count == 0:
        logger.warning("Cannot raise %s: thread %d does not exist.", exception.__name__, thread_id)
        return False
    if count > 1:  # pragma: no cover - CPython never reports more than one
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
        raise TaskqError("PyThreadState_SetAsyncExc affected more than one thread")
    return True


def _raise_in_greenlet(thread_id: int, exception: type[BaseException]) -> bool:
    import gc

    import greenlet

    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and id(obj) == thread_id:
            import gevent

            # Throwing from the hub keeps the current greenlet running undisturbed.
            gevent.get_hub().loop.run_callback(_throw_unless_finished, obj, exception)
            return True
    return False


def _throw_unless_finished(target: object, exception: type[BaseException]) -> None:
    # The greenlet may have finished its actor (or died) between the decision and this
    # callback; throwing then would land in the worker's code or in the hub.
    if not target.dead and id(target) in _interruptible:  # type: ignore[attr-defined]
        target.throw(exception)  # type: ignore[attr-defined]


def current_thread_id() -> int:
    """The id used by :func:`raise_thread_exception` for the calling thread or greenlet."""
    if is_gevent_active():
        import greenlet

        return id(greenlet.getcurrent())
    return threading.get_ident()


class PerThreadMiddleware(Middleware):
    """Base for middleware that track something about the message each thread is running:
    ``_remember(value)`` in ``before_process_message``; forgotten when the message finishes
    or is skipped. ``running`` maps thread (or greenlet) ids to those values."""

    def __init__(self) -> None:
        self.running: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _remember(self, value: Any) -> None:
        with self._lock:
            self.running[current_thread_id()] = value

    def _forget(self) -> None:
        with self._lock:
            self.running.pop(current_thread_id(), None)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self._forget()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._forget()
