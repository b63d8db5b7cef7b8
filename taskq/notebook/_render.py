"""Plain HTML and text rendering shared by the widgets, the static fallbacks and the reprs.

Nothing here imports ipywidgets: the HTML is what a saved notebook keeps, so it must render
on GitHub and nbviewer with inline styles only.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

#: Colours of each status in HTML views (readable on light and dark themes).
STATUS_COLOURS = {
    "queued": "#6b7280",
    "started": "#2563eb",
    "retrying": "#d97706",
    "succeeded": "#16a34a",
    "failed": "#dc2626",
    "skipped": "#7c3aed",
}

#: The longest value shown in a table cell before it is cut with an ellipsis.
CELL_LIMIT = 120

_TABLE_STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL_STYLE = "text-align:left;padding:2px 8px;border-bottom:1px solid #e5e7eb"


def shorten(text: str, limit: int = CELL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def value_text(value: Any) -> str:
    """A compact, readable text form of a JSON-able value (a result, an argument)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def status_badge(status: str, *, colour: str | None = None) -> str:
    """An inline-styled HTML badge for a message status."""
    colour = colour or STATUS_COLOURS.get(status, "#374151")
    return f"<span style='color:{colour};font-weight:bold'>{html.escape(status)}</span>"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str | None = None,
    escape: bool = True,
) -> str:
    """An HTML table; cells are escaped unless ``escape=False`` (when they already are HTML)."""

    def cell(tag: str, text: str) -> str:
        body = html.escape(text) if escape else text
        return f"<{tag} style='{_CELL_STYLE}'>{body}</{tag}>"

    head = "".join(f"<th style='{_CELL_STYLE}'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows)
    title = (
        f"<caption style='text-align:left;font-weight:bold'>{html.escape(caption)}</caption>"
        if caption
        else ""
    )
    return f"<table style='{_TABLE_STYLE}'>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def text_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A fixed-width text table for terminals and ``text/plain`` outputs."""
    materialised = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(row[i]) for row in materialised) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in materialised
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def progress_bar_html(done: int, total: int) -> str:
    """A static progress bar made of two nested divs (widgets do not survive a saved file)."""
    percent = 100 if total == 0 else round(100 * done / total)
    return (
        "<div style='width:320px;height:12px;background:#e5e7eb;border-radius:3px'>"
        f"<div style='width:{percent}%;height:12px;background:#16a34a;border-radius:3px'></div>"
        "</div>"
    )


#: How a status reads in counts: a started message is running.
STATUS_LABELS = {"started": "running"}


def counts_text(counts: dict[str, int]) -> str:
    """``succeeded 3 · failed 1 · running 2`` for the non-zero counts, in lifecycle order."""
    order = [s for s in STATUS_COLOURS if counts.get(s)]
    return " · ".join(f"{STATUS_LABELS.get(s, s)} {counts[s]}" for s in order) or "nothing tracked"


def counts_html(counts: dict[str, int]) -> str:
    """Like :func:`counts_text` with each status coloured."""
    order = [s for s in STATUS_COLOURS if counts.get(s)]
    return (
        " · ".join(
            f"{status_badge(STATUS_LABELS.get(s, s), colour=STATUS_COLOURS[s])} {counts[s]}"
            for s in order
        )
        or "nothing tracked"
    )


def format_elapsed(seconds: float) -> str:
    """``1m 05.2s`` / ``4.3s``."""
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m {rest:04.1f}s" if minutes else f"{rest:.1f}s"
