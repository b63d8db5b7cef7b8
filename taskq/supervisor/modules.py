"""Finding the modules ``taskq worker`` runs: before anything starts (the master checks they
exist without importing them, so no application code runs and no connection is opened in the
master), and after the import (which file was imported, and whether it declared actors)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType

#: What a package's ``__init__.py`` contains when it computes its ``__path__`` at import time
#: (old-style namespace packages); its submodules cannot be located without importing it.
_DYNAMIC_PATH_MARKERS = ("__path__", "extend_path", "declare_namespace")


def add_import_paths(paths: Iterable[str]) -> None:
    """Put ``paths`` (made absolute) first on ``sys.path``, in order, once each."""
    for path in reversed(list(paths)):
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)
    importlib.invalidate_caches()


def module_name_of(spec: str) -> str:
    """``pkg.mod:broker`` → ``pkg.mod``."""
    return spec.partition(":")[0]


def missing_module(name: str) -> str | None:
    """The part of dotted ``name`` that cannot be found on ``sys.path``, or None when it can
    (or when only importing a package could tell). Imports nothing."""
    parts = name.split(".")
    try:
        spec: ModuleSpec | None = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return parts[0]
    if spec is None:
        return parts[0]
    for index in range(1, len(parts)):
        full = ".".join(parts[: index + 1])
        if full in sys.modules:
            spec = sys.modules[full].__spec__
            continue
        locations = spec.submodule_search_locations if spec is not None else None
        if locations is None:
            return full  # the parent is a plain module, not a package
        found = PathFinder.find_spec(full, list(locations))
        if found is None:
            return None if _computes_its_path(spec) else full
        spec = found
    return None


def _computes_its_path(spec: ModuleSpec | None) -> bool:
    origin = spec.origin if spec is not None else None
    if not origin or not os.path.isfile(origin):
        return False
    try:
        with open(origin, encoding="utf-8", errors="replace") as source:
            text = source.read()
    except OSError:
        return True
    return any(marker in text for marker in _DYNAMIC_PATH_MARKERS)


def missing_module_message(modules: Iterable[str], paths: Iterable[str]) -> str | None:
    """One line naming the first of ``modules`` that cannot be found, or None if all can."""
    for spec in modules:
        name = module_name_of(spec)
        missing = missing_module(name)
        if missing is None:
            continue
        parent, _, last = missing.rpartition(".")
        if parent:
            return (
                f"cannot import module {name!r}: {parent!r} has no module named {last!r}; "
                "check the name"
            )
        where = ", ".join(os.path.abspath(p) for p in paths)
        what = "it is" if missing == name else f"its package {missing!r} is"
        return (
            f"cannot import module {name!r}: {what} neither in {where} nor on the Python "
            "path; check the name, or add its directory with --path DIR"
        )
    return None


def module_file(module: ModuleType) -> str:
    """Where ``module`` was imported from (``built-in`` when it has no file)."""
    return str(getattr(module, "__file__", None) or "built-in")


def shadowed_file(module: ModuleType, paths: Iterable[str]) -> str | None:
    """A file in ``paths`` that ``import module.__name__`` did not import because another
    module of that name came first (``io.py`` in the current directory, say)."""
    top = module.__name__.partition(".")[0]
    imported = os.path.realpath(module_file(module))
    for directory in paths:
        for candidate in (f"{top}.py", os.path.join(top, "__init__.py")):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path) and os.path.realpath(path) != imported:
                return path
    return None


def no_actors_warning(modules: dict[str, ModuleType], paths: Iterable[str]) -> str:
    """The warning for a worker whose modules declared no actors, naming what was imported."""
    paths = list(paths)
    described = [f"module {m.__name__} ({module_file(m)})" for m in modules.values()]
    hints = []
    for module in modules.values():
        shadowed = shadowed_file(module, paths)
        if shadowed is not None:
            top = module.__name__.partition(".")[0]
            hints.append(
                f"{shadowed} was not imported (`import {top}` finds the module above first): "
                "rename your file"
            )
    if not hints:
        hints.append("name the module that defines your actors (or imports them)")
    verb = "declares" if len(modules) == 1 else "declare"
    return (
        f"taskq worker {' '.join(modules)}: {', '.join(described)} {verb} no actors, so this "
        f"worker has nothing to run; {'; '.join(hints)}."
    )
