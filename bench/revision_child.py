"""One measurement for :mod:`bench.compare_revisions`, in the interpreter of the taskq measured.

``python -m bench.revision_child --case N --broker B [--quick] [--idle-seconds S]`` runs the
``N``-th case of :func:`bench.cases.all_cases` once, for taskq on broker ``B``, exactly as
``python -m bench`` runs it, and prints one line: :data:`MARKER` and then a JSON object with the
value of every case built on the same run (the p50 and p99 of one latency sampling, say), and
where ``taskq`` and ``bench`` were imported from, in this process and in the environment its
workers get. ``--check`` prints the import paths without measuring.

The driver runs it from a copy of the benchmark code holding no ``taskq`` folder, so that
``import taskq`` finds the interpreter's own editable install and not a checkout beside it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from typing import Any

from .__main__ import _run_once
from .cases import all_cases
from .harness import ROOT, Setup

MARKER = "REVISION-CHILD-RESULT "
_WHERE = "import taskq, bench; print(taskq.__file__); print(bench.__file__)"


def import_paths(broker: str) -> dict[str, str]:
    """Where ``taskq`` and ``bench`` come from here and in a worker's environment."""
    import bench
    import taskq

    setup = Setup(framework="taskq", broker=broker, namespace=f"bench-check-{uuid.uuid4().hex}")
    done = subprocess.run(
        [sys.executable, "-c", _WHERE],
        cwd=ROOT,
        env=setup.environ(),
        capture_output=True,
        text=True,
        check=True,
    )
    worker_taskq, worker_bench = done.stdout.split()
    return {
        "taskq": str(taskq.__file__),
        "bench": str(bench.__file__),
        "worker_taskq": worker_taskq,
        "worker_bench": worker_bench,
    }


def measure(index: int, broker: str, quick: bool, idle_seconds: float) -> dict[int, float]:
    """One run of case ``index`` on ``broker``: the value of each case sharing that run."""
    cases = all_cases(quick, idle_seconds)
    lead = cases[index]
    result: Any = _run_once(lead, broker, "taskq")
    return {
        number: float(case.pick(result))
        for number, case in enumerate(cases)
        if case.run is lead.run and broker in case.brokers
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.revision_child", description=__doc__)
    parser.add_argument("--case", type=int, default=0, help="index in bench.cases.all_cases")
    parser.add_argument("--broker", default="redis")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--check", action="store_true", help="report import paths only")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"paths": import_paths(args.broker)}
    if not args.check:
        report["values"] = measure(args.case, args.broker, args.quick, args.idle_seconds)
    print(MARKER + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
