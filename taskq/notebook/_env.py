"""Where are we running? Decides between widgets and the terminal fallback."""

from __future__ import annotations

import os
from typing import Any

#: Set TASKQ_NOTEBOOK_WIDGETS=0 to force the terminal fallback (1 to force widgets).
WIDGETS_ENV = "TASKQ_NOTEBOOK_WIDGETS"


def in_kernel() -> bool:
    """True inside a Jupyter kernel (not a plain IPython terminal, not a script)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """True when ipywidgets can be imported and there is a kernel to show them."""
    forced = os.environ.get(WIDGETS_ENV)
    if forced in {"0", "1"}:
        return forced == "1" and _has_ipywidgets()
    return in_kernel() and _has_ipywidgets()


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def require_ipywidgets(what: str) -> Any:
    """Import ipywidgets or raise an ImportError saying how to install it."""
    try:
        import ipywidgets
    except ImportError as e:
        raise ImportError(
            f"taskq.notebook.{what} needs ipywidgets: pip install 'taskq[notebook]'"
        ) from e
    return ipywidgets


def display_live(obj: Any) -> Any:
    """Display ``obj`` in the notebook with a display id; returns the handle (None elsewhere)."""
    if not in_kernel():
        return None
    from IPython.display import display

    return display(obj, display_id=True)
