"""A worker process's start-up checks: import the application, find its broker, and check the
broker can be used, each failure a one-line message on stderr and the exit code that says why.
"""

from __future__ import annotations

import contextvars
import importlib
import os
import re
import sys
import traceback
from types import ModuleType
from typing import Any

from ..broker import Broker
from ..common import mask_url
from ..global_broker import get_broker
from .config import ExitCode, WorkerOptions, broker_error_exit_code
from .modules import add_import_paths

_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


class StartupError(Exception):
    """The worker process cannot start; ``exit_code`` says why."""

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: True while a worker process started beside the first one imports and checks: its start-up
#: errors are the first one's to report (see ``QUIET_STARTUP_ENV``). Only taskq's own messages
#: are held back; whatever the application writes to stderr is left alone.
quiet_startup: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "taskq_quiet_startup", default=False
)


def _report_startup_error(text: str, *, trace: bool = False) -> None:
    """Write a start-up error (and, with ``trace``, the exception being handled) to stderr."""
    if quiet_startup.get():
        return
    sys.stderr.write(text)
    if trace:
        traceback.print_exc()


def import_application(options: WorkerOptions) -> tuple[Broker, dict[str, ModuleType]]:
    """Import every module; return the broker (``module:VAR`` names it, else the global one)
    and the imported modules by their command-line spec."""
    add_import_paths(options.paths)

    broker: Any = None
    modules: dict[str, ModuleType] = {}
    for spec in options.modules:
        module_name, _, variable = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            _raise_if_broker_error(e, f"importing {module_name}")
            if _is_missing(e, module_name):
                message = f"taskq: cannot import module {module_name!r}: {e}"
                _report_startup_error(message + "\n")
                raise StartupError(ExitCode.IMPORT_OR_USAGE, message) from e
            _report_startup_error(f"taskq: cannot import module {module_name!r}:\n", trace=True)
            raise StartupError(ExitCode.IMPORT_OR_USAGE, str(e)) from e
        modules[spec] = module
        if variable and broker is None:
            broker = _broker_variable(module, module_name, variable)
    if broker is None:
        try:
            broker = get_broker()
        except Exception as e:
            _raise_if_broker_error(e, "opening the broker")
            raise
    return broker, modules


def _broker_variable(module: ModuleType, module_name: str, variable: str) -> Any:
    """The Broker at ``module:variable`` (a dotted path such as ``Holder.broker`` too); a
    missing name or another kind of object is a one-line error and exit code 2."""
    value: Any = module
    for depth, name in enumerate(variable.split(".")):
        if not hasattr(value, name):
            where = ".".join(variable.split(".")[:depth]) or module_name
            message = (
                f"taskq: Module {module_name!r} does not define a {variable!r} variable."
                if depth == 0
                else f"taskq: {where!r} in module {module_name!r} has no attribute {name!r}."
            )
            _report_startup_error(message + "\n")
            raise StartupError(ExitCode.IMPORT_OR_USAGE, message)
        value = getattr(value, name)

    if not isinstance(value, Broker):
        message = (
            f"taskq: '{module_name}:{variable}' is not a Broker. It is a "
            f"{type(value).__name__}; name the variable that holds your broker."
        )
        _report_startup_error(message + "\n")
        raise StartupError(ExitCode.IMPORT_OR_USAGE, message)
    return value


def _raise_if_broker_error(error: BaseException, doing: str) -> None:
    """Raise :class:`StartupError` (one line on stderr) if ``error`` is about the broker."""
    code = broker_error_exit_code(error)
    if code is None:
        return
    url = os.environ.get("TASKQ_BROKER_URL")
    location = mask_url(url) if url else "the broker"
    verb = "reach" if code == ExitCode.BROKER_UNREACHABLE else "use"
    message = _one_line(f"taskq: cannot {verb} {location} ({doing}): {_masked(error)}")
    _report_startup_error(message + "\n")
    raise StartupError(code, message) from error


def _is_missing(error: BaseException, module_name: str) -> bool:
    """True when ``error`` says ``module_name`` itself (or a package of it) does not exist, as
    opposed to an import inside it failing (which deserves its traceback)."""
    missing = getattr(error, "name", None)
    return (
        isinstance(error, ModuleNotFoundError)
        and bool(missing)
        and (module_name == missing or module_name.startswith(f"{missing}."))
    )


def _masked(error: BaseException) -> str:
    return _URL_PASSWORD_RE.sub(r"\1:***@", str(error) or repr(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_broker(broker: Broker) -> str:
    """The broker's location, passwords masked, for error messages."""
    url = getattr(broker, "url", None) or os.environ.get("TASKQ_BROKER_URL")
    if url:
        return mask_url(str(url))
    path = getattr(broker, "path", None)
    return f"sqlite:///{path}" if path else repr(broker)


def check_broker(broker: Broker) -> None:
    """Raise :class:`StartupError` if the broker cannot be used: exit 3 when it cannot be
    reached, 2 when its file is wrong (not a database, damaged, read-only)."""
    ping = getattr(broker, "ping", None)
    try:
        if callable(ping):
            ping()
        else:
            broker.queue_stats()
    except Exception as e:
        code = broker_error_exit_code(e) or ExitCode.BROKER_UNREACHABLE
        verb = "reach" if code == ExitCode.BROKER_UNREACHABLE else "use"
        message = f"taskq: cannot {verb} the broker at {describe_broker(broker)}: {_masked(e)}"
        _report_startup_error(_one_line(message) + "\n")
        raise StartupError(code, message) from e
