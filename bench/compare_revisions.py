"""`python -m bench.compare_revisions`: taskq at one revision against another, case by case.

Runs every taskq case of ``python -m bench`` (every broker it runs taskq on; no Dramatiq) for a
*before* and an *after* taskq in the same session, the two alternating within each round, and
writes a markdown table: the median of each side, after/before, and whether the after side is
more than 5% slower, read in the unit's own direction (more msg/s is better; fewer ms, % core,
MiB or s is better).

One Python process cannot import two taskq versions, and worker cases spawn
``sys.executable -m taskq worker``: so each side has its own checkout and its own virtualenv with
taskq installed editable from it, and every measurement (one case × broker × side × round) is a
subprocess of that side's interpreter running :mod:`bench.revision_child`. Both sides run
*this* checkout's benchmark code, copied to a temporary folder holding no ``taskq`` package, so
``import taskq`` resolves to the interpreter's own install; each subprocess reports where
``taskq`` came from (for itself and for its workers) and a wrong path stops the comparison.

A side is a path (a checkout; its ``.venv`` is used, or made) or a git revision (checked out,
detached, at ``<checkouts>/wt-rev-<commit>`` with its own ``.venv``, kept for the next run). New
virtualenvs get ``taskq[all]`` pinned to the versions this interpreter has, so both sides run
the same libraries.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .cases import Case, all_cases
from .revision_child import MARKER

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 0.05
CHILD_TIMEOUT = 1800


def slowdown(before: float, after: float, higher_is_better: bool) -> float:
    """How much slower ``after`` is than ``before``, as a fraction of ``before``.

    0.07 means 7% slower: 7% fewer msg/s when higher is better, 7% more ms when lower is
    better. Negative means faster. A zero ``before`` gives 0 if ``after`` is zero too, else ±inf.
    """
    if before == 0:
        if after == 0:
            return 0.0
        worse = after < 0 if higher_is_better else after > 0
        return math.inf if worse else -math.inf
    ratio = after / before
    return 1 - ratio if higher_is_better else ratio - 1


def is_slower(
    before: float, after: float, higher_is_better: bool, tolerance: float = TOLERANCE
) -> bool:
    """Whether ``after`` is more than ``tolerance`` (a fraction) slower than ``before``."""
    if before == 0:
        return slowdown(before, after, higher_is_better) > tolerance
    # On the ratio itself: 1 - 95/100 is a hair above 0.05 in floating point.
    ratio = after / before
    return ratio < 1 - tolerance if higher_is_better else ratio > 1 + tolerance


@dataclass(frozen=True)
class Side:
    """One taskq under test: its checkout, the interpreter that has it installed, its commit."""

    label: str
    checkout: Path
    python: Path
    commit: str


@dataclass
class Row:
    """One case on one broker: the values each side measured, run by run."""

    index: int  # in bench.cases.all_cases
    case: Case
    broker: str
    values: dict[str, list[float]] = field(default_factory=dict)
    failures: int = 0


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _constraints(folder: Path) -> Path:
    """This interpreter's installed versions as a pip constraints file."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = folder / "constraints.txt"
    path.write_text("".join(line + "\n" for line in frozen.splitlines() if "==" in line))
    return path


def _ensure_venv(checkout: Path, constraints: Path) -> Path:
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        print(f"making {checkout}/.venv (taskq[all], editable)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(checkout / ".venv")], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-c", str(constraints)]
            + ["-e", f"{checkout}[all]"],
            check=True,
        )
    return python


def resolve_side(label: str, spec: str, checkouts: Path, constraints: Path) -> Side:
    """The checkout and interpreter for ``spec``: a checkout's path, or a git revision."""
    path = Path(spec)
    if path.is_dir() and (path / "taskq").is_dir():
        checkout = path.resolve()
        commit = _git("rev-parse", "HEAD", cwd=checkout)
        if _git("status", "--porcelain", "--untracked-files=no", cwd=checkout):
            commit += " (plus uncommitted changes)"
    else:
        commit = _git("rev-parse", "--verify", f"{spec}^{{commit}}")
        checkout = checkouts / f"wt-rev-{commit[:10]}"
        if not checkout.exists():
            _git("worktree", "add", "--detach", str(checkout), commit)
        elif _git("rev-parse", "HEAD", cwd=checkout) != commit:
            raise SystemExit(f"{checkout} exists but is not at {commit}")
    return Side(label, checkout, _ensure_venv(checkout, constraints), commit)


def copy_bench(folder: Path) -> Path:
    """This checkout's benchmark code, alone in ``folder`` (no ``taskq`` beside it)."""
    shutil.copytree(
        ROOT / "bench", folder / "bench", ignore=shutil.ignore_patterns("__pycache__", "*.md")
    )
    return folder


def prepare(side: Side, bench_root: Path) -> None:
    """Compile the side's taskq and the benchmark code, so no run pays for it."""
    for folder in (side.checkout / "taskq", bench_root / "bench"):
        subprocess.run([str(side.python), "-m", "compileall", "-q", str(folder)], check=True)


def run_child(side: Side, bench_root: Path, extra: list[str]) -> dict[str, object]:
    """Run :mod:`bench.revision_child` under ``side``'s interpreter and check its imports."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [str(side.python), "-m", "bench.revision_child", *extra],
        cwd=bench_root,
        env={**env, "PYTHONPATH": str(bench_root)},
        stdout=subprocess.PIPE,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode or not lines:
        raise RuntimeError(f"{side.label}: {' '.join(extra)} exited {done.returncode}")
    report: dict[str, object] = json.loads(lines[-1][len(MARKER) :])
    paths = report["paths"]
    assert isinstance(paths, dict)
    for key in ("taskq", "worker_taskq"):
        if not Path(paths[key]).is_relative_to(side.checkout / "taskq"):
            raise SystemExit(f"{side.label}: {key} is {paths[key]}, not under {side.checkout}")
    for key in ("bench", "worker_bench"):
        if not Path(paths[key]).is_relative_to(bench_root / "bench"):
            raise SystemExit(f"{side.label}: {key} is {paths[key]}, not under {bench_root}")
    return report


def plan(
    cases: list[Case], only: str | None, brokers: list[str] | None, exclude: list[str]
) -> tuple[list[Row], list[tuple[int, str, list[int]]]]:
    """The rows to report, and the runs to make: (case index to run, broker, rows it fills).

    Cases built on the same ``run`` share each of its runs, as in ``python -m bench``.
    """
    rows: list[Row] = []
    runs: dict[tuple[int, str], tuple[int, str, list[int]]] = {}
    for index, case in enumerate(cases):
        name = case.name.lower()
        if only and only.lower() not in name or any(x.lower() in name for x in exclude):
            continue
        for broker in case.brokers:
            if brokers and broker not in brokers:
                continue
            lead = next(i for i, c in enumerate(cases) if c.run is case.run)
            entry = runs.setdefault((lead, broker), (index, broker, []))
            entry[2].append(len(rows))
            rows.append(Row(index, case, broker))
    return rows, list(runs.values())


def render(rows: list[Row], sides: list[Side], header: list[str]) -> str:
    """The markdown report: medians, ratio, and the direction-aware 5% verdict per row."""
    before, after = sides
    lines = [
        "# taskq before vs after",
        "",
        *header,
        "",
        f"| case | broker | unit | before | after | after/before | slower by more than "
        f"{TOLERANCE:.0%} |",
        "| --- | --- | --- | ---: | ---: | ---: | :---: |",
    ]
    for row in rows:
        old, new = row.values.get(before.label, []), row.values.get(after.label, [])
        if not old or not new:
            cells = "— | — | — | failed"
        else:
            b, a = statistics.median(old), statistics.median(new)
            ratio = f"{a / b:.3f}×" if b else "—"
            verdict = "**yes**" if is_slower(b, a, row.case.higher_is_better) else "no"
            cells = f"{b:,.2f} | {a:,.2f} | {ratio} | {verdict}"
        lines.append(f"| {row.case.name} | {row.broker} | {row.case.unit} | {cells} |")
    lines += ["", "Every run, in order (before | after):", ""]
    for row in rows:
        runs = [", ".join(f"{v:,.2f}" for v in row.values.get(s.label, [])) for s in sides]
        failed = f" ({row.failures} runs failed)" if row.failures else ""
        lines.append(f"- {row.case.name} [{row.broker}]: {runs[0]} | {runs[1]}{failed}")
    return "\n".join(lines) + "\n"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.compare_revisions", description=__doc__)
    parser.add_argument("--before", required=True, help="checkout path or git revision")
    parser.add_argument("--after", default=str(ROOT), help="checkout path or git revision")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median reported)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument(
        "--exclude", action="append", default=[], help="skip cases whose name has this"
    )
    parser.add_argument("--broker", action="append", help="limit to these brokers")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--checkouts", type=Path, default=ROOT.parent, help="for revisions")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument(
        "--setup-only", action="store_true", help="make and check both sides, measure nothing"
    )
    args = parser.parse_args(argv)

    started, load_at_start = time.monotonic(), _load()
    with tempfile.TemporaryDirectory(prefix="taskq-compare-") as tmp:
        constraints = _constraints(Path(tmp))
        sides = [
            resolve_side("before", args.before, args.checkouts, constraints),
            resolve_side("after", args.after, args.checkouts, constraints),
        ]
        bench_root = copy_bench(Path(tmp))
        for side in sides:
            prepare(side, bench_root)
            paths = run_child(side, bench_root, ["--check"])["paths"]
            print(f"{side.label}: {side.commit}; imports {paths}", flush=True)
        if args.setup_only:
            return 0
        rows, runs = plan(
            all_cases(args.quick, args.idle_seconds), args.only, args.broker, args.exclude
        )
        common = ["--idle-seconds", str(args.idle_seconds)] + (["--quick"] if args.quick else [])
        for index, broker, filled in runs:
            print(f"{rows[filled[0]].case.name} [{broker}]", flush=True)
            for round_number in range(args.runs):
                for side in sides if round_number % 2 == 0 else reversed(sides):
                    extra = ["--case", str(index), "--broker", broker, *common]
                    try:
                        values = run_child(side, bench_root, extra)["values"]
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        print(f"  {side.label:6} failed: {error}", flush=True)
                        for number in filled:
                            rows[number].failures += 1
                        continue
                    assert isinstance(values, dict)
                    for number in filled:
                        row = rows[number]
                        value = values[str(row.index)]
                        row.values.setdefault(side.label, []).append(value)
                        name = f"  ({row.case.name})" if len(filled) > 1 else ""
                        print(f"  {side.label:6} {value:12,.2f} {row.case.unit}{name}", flush=True)
    minutes = (time.monotonic() - started) / 60
    header = [
        f"Generated by `python -m bench.compare_revisions {shlex.join(argv)}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, in {minutes:.1f} minutes.",
        f"Before: {sides[0].commit} ({sides[0].checkout}). "
        f"After: {sides[1].commit} ({sides[1].checkout}).",
        f"Median of {args.runs} runs per cell, the sides alternating within each round, each run "
        "a fresh subprocess of its side's interpreter running this checkout's bench code for "
        "taskq only (Dramatiq is not run). Every run checked that it and its workers imported "
        "taskq from its own side's checkout.",
        f"Load average (1, 5, 15 min) at the start: {load_at_start}; at the end: {_load()}. "
        f"Machine: {os.cpu_count()} cores.",
    ]
    report = render(rows, sides, header)
    if args.output:
        args.output.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
