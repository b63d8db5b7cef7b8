"""Outputs a Python block promises: ``print(...)  # 3`` means that the line ``3`` is printed."""

from __future__ import annotations

import re

_PRINT_WITH_OUTPUT = re.compile(r"^\s*print\(.*\)\s+#\s?(?P<output>.+?)\s*$")


def promised_outputs(code: str) -> list[str]:
    """The outputs shown in comments after ``print(...)`` calls, in order."""
    return [m["output"] for line in code.splitlines() if (m := _PRINT_WITH_OUTPUT.match(line))]


def missing_outputs(promised: list[str], stdout: str) -> list[str]:
    """The promised outputs that are not printed lines of ``stdout``, in that order."""
    printed = [line.strip() for line in stdout.splitlines()]
    missing, position = [], 0
    for output in promised:
        try:
            position = printed.index(output.strip(), position) + 1
        except ValueError:
            missing.append(output)
    return missing
