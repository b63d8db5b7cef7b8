"""Pick the ``taskq ...`` command lines out of shell blocks."""

from __future__ import annotations

import re
import shlex

_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = {"&&", "||", ";", "|", "&"}


def logical_lines(code: str) -> list[str]:
    """Join backslash continuations, drop comments, blank lines and ``$ `` prompts."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def taskq_commands(code: str) -> list[list[str]]:
    """The argument lists (after ``taskq``) of every taskq command in a shell block.

    ``taskq-gevent ARGS`` counts as ``taskq worker ARGS``; ``python -m taskq ARGS`` as
    ``taskq ARGS``; leading ``VAR=value`` assignments are skipped.
    """
    commands = []
    for line in logical_lines(code):
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        segment: list[str] = []
        for token in [*lexer, ";"]:
            if token not in _SEPARATORS:
                segment.append(token)
                continue
            while segment and _ENV_ASSIGNMENT.match(segment[0]):
                segment.pop(0)
            if segment[:3] in (["python", "-m", "taskq"], ["python3", "-m", "taskq"]):
                segment = ["taskq", *segment[3:]]
            if segment and segment[0] == "taskq":
                commands.append(segment[1:])
            elif segment and segment[0] == "taskq-gevent":
                commands.append(["worker", *segment[1:]])
            segment = []
    return commands
