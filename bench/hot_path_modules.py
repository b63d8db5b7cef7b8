"""`python -m bench.hot_path_modules [sqlite|redis]`: which taskq modules one message touches.

Starts an in-process worker, sends one warm-up message and waits for its result, then records
(with ``sys.setprofile`` / ``threading.setprofile``) every first-party module whose functions
run, in any thread, from ``send()`` of a second message until its result is back. Prints the
count, then each module with its number of calls, then every loop in the module call chain (a
module that calls into another which, directly or through others, calls back into the first:
``a -> b -> a``). Issue 24 tracks both figures.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import uuid
from types import FrameType
from typing import Any

import taskq
from taskq.results import Results

#: Module name -> calls seen while recording.
_seen: dict[str, int] = {}
#: Module loops seen while recording, as the chain of modules from the first to its return.
_loops: set[tuple[str, ...]] = set()
_recording = False


def _module_chain(frame: FrameType | None) -> list[str]:
    """The first-party modules on the stack, innermost first, repeats of one module collapsed."""
    chain: list[str] = []
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("taskq") and (not chain or chain[-1] != name):
            chain.append(name)
        frame = frame.f_back
    return chain


def _profile(frame: FrameType, event: str, arg: Any) -> None:
    if _recording and event == "call":
        name = frame.f_globals.get("__name__", "")
        if name.startswith("taskq"):
            _seen[name] = _seen.get(name, 0) + 1
            chain = _module_chain(frame)
            if name in chain[1:]:
                back = chain.index(name, 1)
                _loops.add(tuple(reversed(chain[: back + 1])))


def _broker(kind: str, namespace: str) -> tuple[taskq.Broker, Any]:
    if kind == "sqlite":
        from taskq.brokers.sqlite import SQLiteBroker
        from taskq.results.backends import SQLiteBackend

        path = os.path.join(tempfile.mkdtemp(), "hot-path.db")
        return SQLiteBroker(path=path), SQLiteBackend(path=path)
    from taskq.brokers.redis import RedisBroker
    from taskq.results.backends import RedisBackend

    url = os.environ.get("TASKQ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    return RedisBroker(url=url, namespace=namespace), RedisBackend(url=url, namespace=namespace)


def measure(kind: str) -> tuple[dict[str, int], set[tuple[str, ...]]]:
    """Calls per first-party module, and the module loops, from ``send()`` to one result."""
    global _recording
    namespace = f"hot-path-{uuid.uuid4().hex[:8]}"
    broker, backend = _broker(kind, namespace)
    broker.add_middleware(Results(backend=backend))
    taskq.set_broker(broker)

    @taskq.actor(store_results=True, queue_name=namespace)
    def add(a: int, b: int) -> int:
        return a + b

    threading.setprofile(_profile)
    sys.setprofile(_profile)
    worker = taskq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        assert add.send(1, 2).get_result(block=True, timeout=10_000) == 3  # warm-up
        _recording = True
        assert add.send(2, 3).get_result(block=True, timeout=10_000) == 5
        _recording = False
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        worker.stop()
        if kind == "redis":
            client = broker.client  # type: ignore[attr-defined]
            keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
            if keys:
                client.delete(*keys)
        broker.close()
    return dict(_seen), set(_loops)


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    seen, loops = measure(kind)
    print(f"{kind}: {len(seen)} first-party modules from send() to the result")
    for name in sorted(seen):
        print(f"  {name} {seen[name]}")
    print(f"{len(loops)} module loops (a -> ... -> a)")
    for loop in sorted(loops):
        print("  " + " -> ".join(loop))


if __name__ == "__main__":
    main()
