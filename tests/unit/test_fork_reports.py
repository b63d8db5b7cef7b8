"""How worker processes tell the master which fork functions their middleware list."""

from __future__ import annotations

import taskq
from taskq.supervisor.forks import decode_fork_paths, encode_fork_paths, middleware_fork_paths


def module_level_fork() -> None:
    """A fork function a fork process can import by its path."""


class Sidecars(taskq.Middleware):
    @property
    def forks(self):
        return [module_level_fork, lambda: None, module_level_fork]


def test_only_importable_fork_functions_are_reported_once_each(caplog):
    paths = middleware_fork_paths([Sidecars(), taskq.Middleware(), object()])
    assert paths == [f"{__name__}:module_level_fork"]
    assert "cannot run in a fork process" in caplog.text  # the lambda


def test_a_report_split_across_reads_and_mixed_with_heartbeats_is_decoded():
    frame = encode_fork_paths(["app.jobs:tail_logs", "app.jobs:warm_cache"])
    assert not set(frame) & set(b"R.S")  # never mistaken for a status byte
    stream = b"." + frame + b"R."
    first, tail = decode_fork_paths(stream[:7])
    assert first == [] and tail
    rest, tail = decode_fork_paths(tail + stream[7:])
    assert rest == ["app.jobs:tail_logs", "app.jobs:warm_cache"] and tail == b""
