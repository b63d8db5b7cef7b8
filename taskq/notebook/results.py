"""``result()``: a message's (or a group's, or a pipeline's) result with a rich repr."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..composition import group, pipeline
from ..global_broker import get_broker
from ..message import Message
from ..results.errors import ResultFailure, ResultMissing, ResultTimeout
from ._render import html_table, shorten, status_badge, text_table, value_text
from .rows import messages_of


@dataclass
class ResultRow:
    """One message's outcome: ``status`` is succeeded, failed or pending."""

    message_id: str
    call: str
    status: str
    value: Any = None
    error: str | None = None


class ResultView:
    """Results shown as a table in Jupyter and as text elsewhere; ``value`` is the plain
    result (a list for a group, the last step's result for a pipeline)."""

    def __init__(self, rows: list[ResultRow], value: Any, kind: str) -> None:
        self.rows = rows
        self.value = value
        self.kind = kind

    @classmethod
    def fetch(cls, target: Any, *, block: bool = False, timeout: int | None = None) -> ResultView:
        """Read the results of ``target`` (``timeout`` in ms when ``block``)."""

        broker = getattr(target, "broker", None) or get_broker()
        backend = broker.get_results_backend()
        messages = messages_of(target)
        if isinstance(target, pipeline):
            messages = (
                messages[-1:]
                if isinstance(target.steps[-1], Message)
                else target.steps[-1].children
            )
        rows = []
        for message in messages:
            try:
                value = backend.get_result(message, block=block, timeout=timeout)
                rows.append(ResultRow(message.message_id, str(message), "succeeded", value))
            except ResultFailure as e:
                rows.append(
                    ResultRow(
                        message.message_id,
                        str(message),
                        "failed",
                        error=f"{e.orig_exc_type}: {e.orig_exc_msg}",
                    )
                )
            except (ResultMissing, ResultTimeout):
                rows.append(ResultRow(message.message_id, str(message), "pending"))
        values = [row.value for row in rows]
        kind = (
            "group"
            if isinstance(target, group)
            else "pipeline"
            if isinstance(target, pipeline)
            else "message"
        )
        value = values if kind == "group" or len(rows) != 1 else values[0]
        return cls(rows, value, kind)

    def _outcome(self, row: ResultRow) -> str:
        return value_text(row.value) if row.status == "succeeded" else (row.error or "")

    def _repr_html_(self) -> str:
        cells = (
            [
                html.escape(r.message_id),
                html.escape(shorten(r.call)),
                status_badge(r.status),
                html.escape(shorten(self._outcome(r))),
            ]
            for r in self.rows
        )
        return html_table(
            ["message id", "call", "status", "result / error"],
            cells,
            caption=f"taskq result ({self.kind})",
            escape=False,
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def __repr__(self) -> str:
        table = text_table(
            ["message id", "call", "status", "result / error"],
            (
                [r.message_id, shorten(r.call, 40), r.status, shorten(self._outcome(r), 60)]
                for r in self.rows
            ),
        )
        return f"taskq result ({self.kind})\n{table}"
