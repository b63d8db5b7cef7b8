"""Split a shell block into the steps a page session takes, the way a reader would run them.

- ``export NAME=value`` sets a variable for the rest of the page (as in one terminal);
- an **install** command (``pip install ...``, ``python3 -m venv ...``, activating a venv) is
  skipped: the session already runs in the project's venv, and installing per page would take
  minutes. ``test_readme_install.py`` runs the README's install line for real, once;
- a **long-running** command is started in the background and stopped at the end of the page:
  ``taskq worker``, ``taskq-gevent``, ``taskq events`` (they run until Ctrl-C), a command
  ending in ``&``, and every command of a block the text introduces with "in another
  terminal";
- everything else runs in the foreground with ``bash -e``, consecutive lines in one script,
  and must exit 0.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_INSTALL = re.compile(
    r"^(?:(?:python3?|\S*/python3?)\s+-m\s+pip\s+install|pip3?\s+install|python3?\s+-m\s+venv"
    r"|\.\s+\S*activate|source\s+\S*activate)\b"
)
_LONG_RUNNING = {("taskq", "worker"), ("taskq", "events"), ("taskq", "tui")}
ANOTHER_TERMINAL = re.compile(r"in (?:an)?other terminal", re.IGNORECASE)


@dataclass
class Step:
    """One thing to do: ``kind`` is "install" (skipped), "export", "background" or "run"."""

    kind: str
    text: str
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)


def logical_lines(code: str) -> list[str]:
    """Join backslash continuations, drop comment-only and blank lines and ``$ `` prompts."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars="&")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _split_env(words: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    while words and _ENV_ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def is_long_running(argv: list[str]) -> bool:
    if not argv:
        return False
    if argv[0] == "taskq-gevent":
        return True
    return len(argv) > 1 and (argv[0], argv[1]) in _LONG_RUNNING


def steps(code: str, another_terminal: bool = False) -> list[Step]:
    """The steps of one shell block, in order."""
    found: list[Step] = []
    for line in logical_lines(code):
        for command in re.split(r"\s+&&\s+", line):
            words = _words(command)
            env, argv = _split_env(list(words))
            if _INSTALL.match(" ".join(argv)):
                found.append(Step("install", command))
            elif argv and argv[0] == "export":
                exported = _split_env(argv[1:])[0]
                found.append(Step("export", command, env=exported))
            elif another_terminal or is_long_running(argv) or argv[-1:] == ["&"]:
                argv = argv[:-1] if argv[-1:] == ["&"] else argv
                found.append(Step("background", command, env=env, argv=argv))
            else:
                found.append(Step("run", command))
    return found


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
            if token not in {"&&", "||", ";", "|", "&"}:
                segment.append(token)
                continue
            _, segment = _split_env(segment)
            if segment[:3] in (["python", "-m", "taskq"], ["python3", "-m", "taskq"]):
                segment = ["taskq", *segment[3:]]
            if segment and segment[0] == "taskq":
                commands.append(segment[1:])
            elif segment and segment[0] == "taskq-gevent":
                commands.append(["worker", *segment[1:]])
            segment = []
    return commands
