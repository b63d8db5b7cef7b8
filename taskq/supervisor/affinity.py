"""Which CPU core each worker process runs on.

Only one thread of a Python process runs Python code at a time: the threads take turns with
the interpreter lock, and every blocking call hands it to another thread. When that thread
waits on another core, each hand-off crosses cores: one core wakes the other, which may be
busy with a different process, and the lock sits unused until it is scheduled. With at least
as many worker processes as cores, the group loses nothing by keeping each process on one
core (together they still use every core), and its hand-offs stay on that core. A backlog of
short jobs then drains about a third faster on Redis (``bench/RESULTS.md``).

A pinned process also asks Linux for batch scheduling (``SCHED_BATCH``): a thread of it that
wakes (its socket read returned) no longer preempts whatever runs on the core. Among the
process's own threads, such a preemption only switches to a thread that must then wait for
the lock; the woken thread runs when the lock's holder blocks. Redis and RabbitMQ, scheduled
normally, still preempt the workers when their replies are due. A RabbitMQ backlog of short
jobs drains about a seventh faster (``bench/RESULTS.md``, seventh session). The cost: an idle
worker that receives a message while another program keeps its core busy starts it when that
program's time slice ends (a few milliseconds at most), not at once.

With fewer processes than cores, a process keeps every core: its threads may run code that
releases the lock (compression, hashing, numpy) on several at once.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

logger = logging.getLogger("taskq.worker_process")

#: ``--cpu-affinity`` values: ``auto`` pins each process to one core when there are at least as
#: many processes as cores this command may use; ``off`` never pins.
CpuAffinity = Literal["auto", "off"]
CPU_AFFINITY_CHOICES: tuple[CpuAffinity, ...] = ("auto", "off")


def usable_cores() -> list[int]:
    """The cores this process may run on (a ``taskset`` or a container's cpuset counts), in
    order; empty where the platform cannot tell or pin (not Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def core_for(slot: int, processes: int, mode: CpuAffinity, cores: list[int]) -> int | None:
    """The core for the worker process in ``slot`` of ``processes``, or None to leave it free:
    processes take the ``cores`` in turn when there are at least as many processes."""
    if mode != "auto" or len(cores) < 2 or processes < len(cores):
        return None
    return cores[slot % len(cores)]


def pin_worker_process(slot: int, processes: int, mode: CpuAffinity) -> int | None:
    """Keep this worker process (and every thread it starts from now on) on its core, with
    batch scheduling; the core, or None when it stays free. Call it before the process starts
    threads."""
    core = core_for(slot, processes, mode, usable_cores())
    if core is None:
        return None
    try:
        os.sched_setaffinity(0, {core})
    except OSError as e:  # a sandbox that forbids it: run unpinned
        logger.debug("Could not pin worker process %d to core %d: %s", slot, core, e)
        return None
    schedule_as_batch(slot)
    return core


def schedule_as_batch(slot: int) -> bool:
    """Give the calling thread (and the threads it starts from now on) Linux's batch
    scheduling policy; False where the platform or a sandbox does not allow it."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as e:
        logger.debug("Worker process %d keeps the default scheduling: %s", slot, e)
        return False
    return True
