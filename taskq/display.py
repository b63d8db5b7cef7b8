"""How taskq objects show themselves in notebooks and the REPL: a call shortened to fit, and the
numbered table (plain text or HTML) of a pipeline's steps or a group's members."""

from __future__ import annotations

import html

#: Rows shown by a group's or pipeline's repr before "... and N more".
REPR_ROWS = 50


def shorten(text: str, limit: int) -> str:
    """``text``, cut to at most ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def steps_html(kind: str, rows: list[tuple[str, str]]) -> str:
    """An HTML table of ``rows`` (identifier, call) captioned ``taskq.{kind}``, at most
    :data:`REPR_ROWS` of them."""
    cell = "style='text-align:left;padding:2px 8px'"
    body = "".join(
        f"<tr><td {cell}>{i}</td><td {cell}><code>{html.escape(ident)}</code></td>"
        f"<td {cell}><code>{html.escape(call)}</code></td></tr>"
        for i, (ident, call) in enumerate(rows[:REPR_ROWS])
    )
    if len(rows) > REPR_ROWS:
        body += f"<tr><td colspan='3' {cell}>… and {len(rows) - REPR_ROWS} more</td></tr>"
    head = f"<tr><th {cell}>#</th><th {cell}>message id</th><th {cell}>call</th></tr>"
    return f"<table><caption>taskq.{kind} ({len(rows)})</caption>{head}{body}</table>"


def steps_text(kind: str, rows: list[tuple[str, str]]) -> str:
    """The plain-text form of :func:`steps_html`."""
    lines = [f"taskq.{kind} ({len(rows)})"]
    lines += [f"  {i:>3}  {ident}  {call}" for i, (ident, call) in enumerate(rows[:REPR_ROWS])]
    if len(rows) > REPR_ROWS:
        lines.append(f"  ... and {len(rows) - REPR_ROWS} more")
    return "\n".join(lines)
