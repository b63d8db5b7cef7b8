"""One meaning for a message's ``eta`` option, on every broker and every queue.

``eta`` is Dramatiq's: the UNIX time in milliseconds before which the message must not run.
taskq's own producers only write it on delay queues, but any producer (another language, a
hand-written message) may put it on a ready queue. Every consumer thread of the worker asks
:func:`judge_eta` what to do with a message that carries one:

- no ``eta``, ``None``, or one that is due: run it;
- a number in the future, at most :data:`MAX_ETA_AHEAD_MS` away: hold it until due (a ready
  queue's message is moved to the delay queue with the remaining delay);
- a negative number, NaN or infinity, or a time further than :data:`MAX_ETA_AHEAD_MS` ahead:
  dead-letter it with the reason returned here, since no schedule can honour it.

A value that is not a number at all (a string, a list) keeps Dramatiq's meaning: a warning is
logged and the message is due now (Dramatiq's own test suite expects this).
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

__all__ = ["MAX_ETA_AHEAD_MS", "EtaVerdict", "judge_eta"]

#: The furthest ahead an ``eta`` may lie (ms): 366 days. Anything later is taken for a unit
#: mistake (seconds vs. ms vs. ns) or garbage and dead-lettered rather than held for centuries.
MAX_ETA_AHEAD_MS = 366 * 24 * 3600 * 1000


class EtaVerdict(NamedTuple):
    """What to do with a message given its ``eta``.

    ``action`` is ``"run"``, ``"hold"`` (``delay`` ms from now) or ``"dead"`` (``reason`` says
    why).
    """

    action: Literal["run", "hold", "dead"]
    delay: int = 0
    reason: str | None = None


_RUN = EtaVerdict("run")


def judge_eta(eta: Any, now: int) -> EtaVerdict:
    """Judge ``eta`` (a message's ``options["eta"]``) at ``now`` (UNIX ms)."""
    if eta is None or isinstance(eta, bool) or not isinstance(eta, int | float):
        return _RUN  # absent, or not a number: Dramatiq's "now" (the worker logs the latter)
    if isinstance(eta, float) and not math.isfinite(eta):
        return EtaVerdict("dead", reason=f"message option 'eta' is {eta!r}, not a time")
    if eta < 0:
        return EtaVerdict(
            "dead", reason=f"message option 'eta' is {eta!r}: a time before 1970 (ms expected)"
        )
    ahead = eta - now
    if ahead > MAX_ETA_AHEAD_MS:
        return EtaVerdict(
            "dead",
            reason=(
                f"message option 'eta' is {eta!r}: {ahead / 86_400_000:.3g} days ahead, more "
                f"than the {MAX_ETA_AHEAD_MS // 86_400_000} days taskq holds a message "
                "(eta is UNIX time in ms)"
            ),
        )
    if ahead > 0:
        return EtaVerdict("hold", delay=math.ceil(ahead))
    return _RUN
