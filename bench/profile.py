"""`python -m bench.profile`: where a busy worker group (or a producer) spends its time.

Fills a queue with no-op (or ``--sleep-ms``) messages, starts ``taskq worker`` (or
``dramatiq``) under ``py-spy record --subprocesses --gil`` and prints the functions that
held the GIL most, by own time and including callees. Only samples holding the GIL are
kept, so threads waiting on a socket or a queue do not drown the picture.

With ``--enqueue single`` or ``--enqueue batched`` it profiles the sending side instead, in
this process, with pyinstrument: ``send()`` one at a time, or ``group(...).run()`` in chunks
of 1,000, and prints pyinstrument's call tree.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from .cases import _prefill
from .harness import Setup, WorkerGroup, clear_redis, load_app, purge

SITE = re.compile(r"\s*\(.*?/(site-packages|lib/python3\.\d+|main)/")


def _frame(name: str) -> str:
    return re.sub(r":\d+\)", ")", SITE.sub(" (", name))


def summarize(raw: Path, top: int) -> str:
    """The ``top`` functions by own and by inclusive GIL samples, from py-spy's raw output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples holding the GIL", "", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "including callees:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def profile_enqueue(framework: str, broker: str, how: str, count: int) -> str:
    """pyinstrument's call tree of sending ``count`` no-op messages ``how`` (single/batched)."""
    from pyinstrument import Profiler

    namespace = f"profile-{uuid.uuid4().hex[:6]}"
    setup = Setup(framework, broker, namespace, queue=f"profile_{namespace[-6:]}")
    app = load_app(setup)
    purge(setup, app)
    messages = [app.noop.message() for _ in range(count)] if how == "batched" else []
    profiler = Profiler(interval=0.0002)
    try:
        with profiler:
            if how == "batched":
                for i in range(0, count, 1000):
                    app.fw.group(messages[i : i + 1000]).run()
            else:
                for _ in range(count):
                    app.noop.send()
    finally:
        purge(setup, app)
        clear_redis(namespace)
    return profiler.output_text(unicode=True, short_mode=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--framework", choices=("taskq", "dramatiq"), default="taskq")
    parser.add_argument("--broker", choices=("redis", "rabbitmq", "sqlite"), default="rabbitmq")
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--sleep-ms", type=float, default=0.0)
    parser.add_argument(
        "--incr",
        action="store_true",
        help="the cold-start workload (bench.apps.tasks: each task INCRs a Redis counter)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="how long to record")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--enqueue",
        choices=("single", "batched"),
        help="profile sending --messages (in this process, with pyinstrument) instead",
    )
    args = parser.parse_args(argv)
    if args.enqueue:
        print(profile_enqueue(args.framework, args.broker, args.enqueue, args.messages))
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        parser.exit(2, "python -m bench.profile: py-spy is not installed (pip install py-spy)\n")

    namespace = f"profile-{uuid.uuid4().hex[:6]}"
    setup = Setup(args.framework, args.broker, namespace, queue=f"profile_{namespace[-6:]}")
    module = "bench.apps.tasks" if args.incr else "bench.apps.app"
    app = load_app(setup, module)
    purge(setup, app)
    if args.incr:
        messages = [app.incr.message() for _ in range(args.messages)]
    elif args.sleep_ms:
        messages = [app.sleep_ms.message(args.sleep_ms) for _ in range(args.messages)]
    else:
        messages = [app.noop.message() for _ in range(args.messages)]
    _prefill(app, messages)
    group = WorkerGroup(setup, processes=args.processes, threads=8, module=module)
    with group, tempfile.TemporaryDirectory() as scratch:
        assert group.process is not None
        raw = Path(scratch) / "profile.txt"
        record = [py_spy, "record", "--subprocesses", "--gil", "--format", "raw", "-r", "250"]
        record += ["-d", str(args.seconds), "-o", str(raw), "--pid", str(group.process.pid)]
        subprocess.run(record, capture_output=True, check=True)
        print(summarize(raw, args.top))
    purge(setup, app)
    clear_redis(namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
