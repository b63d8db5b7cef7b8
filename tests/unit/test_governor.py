"""The thread governor: a backlog of short messages runs on a few threads only when a look
shows the whole group of worker processes faster that way; blocking work always gets every
thread."""

from __future__ import annotations

import threading

import pytest

import taskq
from taskq.supervisor.group import SharedCompletions
from taskq.worker.governor import ThreadGovernor

from ..helpers import wait_for


class Machine:
    """Worker processes whose completions come at rates set by how many threads each runs,
    on a clock the test advances. ``rates[(few_a, few_b, ...)]`` gives each process's
    messages per second when process i runs the few (True) or every thread (False)."""

    def __init__(self, rates: dict[tuple[bool, ...], tuple[float, ...]], *, shared: bool):
        self.rates = rates
        self.processes = len(next(iter(rates)))
        self.now = 1000.0
        self.done = [0.0] * self.processes
        group = SharedCompletions(self.processes) if shared else None
        self.governors = [
            ThreadGovernor(
                8,
                completed=lambda i=i: int(self.done[i]),
                waiting=lambda: True,
                group=group,
                slot=i,
                clock=lambda: self.now,
            )
            for i in range(self.processes)
        ]
        self.limits_seen: list[tuple[int, ...]] = []

    def run(self, seconds: float, step: float = 0.001) -> None:
        for _ in range(round(seconds / step)):
            self.now += step
            state = tuple(g.limit < 8 for g in self.governors)
            for i, governor in enumerate(self.governors):
                self.done[i] += self.rates[state][i] * step
                governor.tick()
            self.limits_seen.append(tuple(g.limit for g in self.governors))

    def share_with(self, limit: int) -> float:
        """The share of the time steps so far in which every process ran ``limit`` threads."""
        return sum(all(x == limit for x in s) for s in self.limits_seen) / len(self.limits_seen)


def one_process(few: float, all_: float) -> Machine:
    return Machine({(True,): (few,), (False,): (all_,)}, shared=False)


def test_every_thread_runs_until_a_look_has_been_taken():
    machine = one_process(few=6000, all_=4500)
    machine.run(0.25)
    assert machine.share_with(8) == 1.0


def test_the_few_run_once_a_look_shows_them_faster():
    machine = one_process(few=6000, all_=4500)
    machine.run(2.0)
    assert machine.governors[0].limit == 3
    # ...and they keep running between looks (a look costs a few slices with every thread).
    machine.limits_seen.clear()
    machine.run(10.0)
    assert machine.share_with(3) > 0.85


def test_every_thread_runs_when_the_few_finish_far_less():
    # Actors that block (a 1 ms sleep, say): three threads finish three eighths as much.
    machine = one_process(few=2200, all_=6000)
    machine.run(3.0)
    assert machine.governors[0].limit == 8
    # A losing look ends early, and the next one waits longer: few slices with the few.
    machine.limits_seen.clear()
    machine.run(30.0)
    assert machine.share_with(3) < 0.02


def test_a_look_that_is_level_keeps_every_thread():
    machine = one_process(few=5000, all_=5000)
    machine.run(5.0)
    assert machine.governors[0].limit == 8


def test_slow_completions_never_start_a_look():
    machine = one_process(few=6000, all_=200)
    machine.run(10.0)
    assert machine.share_with(8) == 1.0


def test_the_processes_of_a_group_judge_by_the_whole_group():
    # When both run the few, the CPU they share is split unevenly: process 1 alone would see
    # itself slower (3,500/s against 4,500/s), but the group finishes 11,000/s against 9,000.
    rates = {
        (True, True): (7500.0, 3500.0),
        (False, False): (4500.0, 4500.0),
        (True, False): (5000.0, 5000.0),
        (False, True): (5000.0, 5000.0),
    }
    grouped = Machine(rates, shared=True)
    grouped.run(4.0)
    assert [g.limit for g in grouped.governors] == [3, 3]
    alone = Machine(rates, shared=False)
    alone.run(4.0)
    assert [g.limit for g in alone.governors] == [3, 8]


def test_a_group_slot_keeps_what_an_earlier_process_in_it_finished():
    completions = SharedCompletions(2)
    completions.counter(0)(40)
    completions.counter(1)(2)
    replacement = completions.counter(0)  # slot 0's process was replaced
    replacement(5)
    assert completions.total() == 47


def test_a_few_threads_never_govern_a_worker_with_that_many_or_fewer():
    assert not ThreadGovernor(3, completed=lambda: 0, waiting=lambda: False).enabled
    assert ThreadGovernor(4, completed=lambda: 0, waiting=lambda: False).enabled


def test_the_worker_can_turn_the_governor_off(stub_broker):
    assert not taskq.Worker(stub_broker, adaptive_threads=False).governor.enabled
    assert taskq.Worker(stub_broker).governor.enabled


def hold_back_five(worker: taskq.Worker, queue_name: str) -> None:
    """Put ``worker`` where a look that found the few faster leaves it: three threads take
    messages, the other five wait for the governor (each goes there when it finishes a
    message, so quick messages are sent until all five have)."""

    @taskq.actor(queue_name=queue_name, actor_name=f"quick_{queue_name}")
    def quick() -> None:
        pass

    worker.governor.run_few(60)

    def five_held() -> bool:
        if worker.governor.held == 5:
            return True
        for _ in range(20):
            quick.send()
        return False

    wait_for(five_held, message="five threads held back")


def test_blocking_actors_get_every_thread_even_while_the_few_run(
    stub_broker, queue_name, start_worker
):
    # Eight messages that can only finish together: on three threads they would wait
    # forever, so the governor must notice the stall and let the other five in.
    barrier = threading.Barrier(8, timeout=10)
    finished = []

    @taskq.actor(queue_name=queue_name)
    def together(i: int) -> None:
        barrier.wait()
        finished.append(i)

    worker = start_worker(stub_broker, worker_threads=8)
    hold_back_five(worker, queue_name)
    for i in range(8):
        together.send(i)
    wait_for(lambda: len(finished) == 8, timeout=15, message="all eight messages finished")
    assert worker.governor.limit == 8


@pytest.mark.parametrize("action", ["stop", "pause"])
def test_held_threads_notice_a_stop_or_a_pause(stub_broker, queue_name, start_worker, action):
    worker = start_worker(stub_broker, worker_threads=8)
    hold_back_five(worker, queue_name)
    if action == "stop":
        worker.stop(timeout=5000)
        assert not any(t.is_alive() for t in worker.workers)
    else:
        worker.pause()
        assert all(t.paused_event.wait(2) for t in worker.workers)
        worker.resume()
        wait_for(lambda: worker.governor.held == 5, message="held back again after resume")
