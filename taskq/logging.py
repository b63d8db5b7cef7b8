"""Dramatiq's ``dramatiq.logging``: :func:`get_logger`."""

from __future__ import annotations

import inspect
import logging
from typing import Any

__all__ = ["get_logger"]


def get_logger(module: str, name: Any = None) -> logging.Logger:
    """The logger ``module`` (usually ``__name__``), or ``module.name`` when ``name`` is given;
    ``name`` may be a class, whose name is used."""
    logger_name = module
    if name is not None:
        if inspect.isclass(name):
            name = name.__name__
        logger_name += "." + name
    return logging.getLogger(logger_name)
