"""Small formatters shared by the views."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float) -> str:
    """``75`` → ``1m15s``; ``4000`` → ``1h06m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def size(num_bytes: int) -> str:
    """Bytes as KiB/MiB/GiB."""
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"


def clock_time(millis: int | float | None) -> str:
    """UNIX ms → local ``HH:MM:SS.mmm``."""
    if not millis:
        return "-"
    moment = datetime.fromtimestamp(millis / 1000)
    return moment.strftime("%H:%M:%S.") + f"{int(millis) % 1000:03d}"


def short(text: object, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    value = str(text)
    return value if len(value) <= width else value[: width - 1] + "…"
