"""Which core each worker process of a group is kept on (taskq.supervisor.affinity)."""

from __future__ import annotations

import pytest

from taskq.supervisor.affinity import core_for
from taskq.supervisor.config import WorkerOptions


def test_as_many_processes_as_cores_get_one_core_each():
    cores = [0, 1, 2, 3]
    assert [core_for(slot, 4, "auto", cores) for slot in range(4)] == [0, 1, 2, 3]


def test_more_processes_than_cores_go_round_the_cores():
    cores = [2, 5]  # the cores a taskset left the command
    assert [core_for(slot, 5, "auto", cores) for slot in range(5)] == [2, 5, 2, 5, 2]


def test_fewer_processes_than_cores_stay_free():
    assert core_for(0, 1, "auto", [0, 1]) is None
    assert core_for(2, 3, "auto", [0, 1, 2, 3]) is None


def test_a_single_usable_core_or_an_unknown_platform_pins_nothing():
    assert core_for(0, 2, "auto", [3]) is None
    assert core_for(0, 2, "auto", []) is None


def test_off_never_pins():
    assert core_for(0, 4, "off", [0, 1, 2, 3]) is None


def test_an_unknown_mode_is_refused_with_the_option_named():
    options = WorkerOptions(modules=["app"], cpu_affinity="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="--cpu-affinity must be one of auto, off"):
        options.validate()
