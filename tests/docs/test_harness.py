"""The page harness itself: it fails where a reader would, and adds nothing a reader lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from .blocks import parse_blocks
from .session import PageFailed, Session
from .test_pages import run_blocks

FENCE = "```"


def page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text.replace("~~~", FENCE))
    return path


def run(tmp_path: Path, text: str) -> Session:
    session = Session(tmp_path / "folder", tmp_path / "logs")
    return run_blocks(session, parse_blocks(page(tmp_path, text)))


def test_a_wrong_promised_output_fails(tmp_path: Path) -> None:
    with pytest.raises(PageFailed, match=r"promises the line\(s\) \['4'\]"):
        run(tmp_path, "~~~python\nprint(1 + 2)  # 4\n~~~\n")


def test_the_harness_adds_no_middleware(tmp_path: Path) -> None:
    """The hole of issue 20: an option no middleware of the reader's broker declares fails."""
    text = (
        "~~~python\n# tasks.py\nimport taskq\nfrom taskq.brokers.stub import StubBroker\n\n"
        "taskq.set_broker(StubBroker())\n\n\n@taskq.actor(store_results=True)\n"
        "def add(x, y):\n    return x + y\n~~~\n\n~~~python\nimport tasks\n~~~\n"
    )
    with pytest.raises(PageFailed, match=r"page.md:14: `python` exited with 1(?s:.*)store_results"):
        run(tmp_path, text)


def test_a_worker_that_cannot_start_fails_the_page(tmp_path: Path) -> None:
    with pytest.raises(PageFailed, match="exited with 2 before it was ready"):
        run(tmp_path, "~~~bash\ntaskq worker no_such_module -p 1\n~~~\n")


def test_the_environment_is_a_fresh_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKQ_BROKER_URL", "stub://")
    text = (
        "~~~bash\npip install taskq\nexport GREETING=hello\n~~~\n\n~~~python\nimport os\n\n"
        "print(sorted(k for k in os.environ if k.startswith('TASKQ_')))  # []\n"
        "print(os.environ['GREETING'])  # hello\n~~~\n"
    )
    session = run(tmp_path, text)
    assert session.skipped == ["page.md:1: pip install taskq"]


def test_a_worker_runs_in_the_background_and_stops_cleanly(tmp_path: Path) -> None:
    text = (
        "~~~python\n# jobs.py\nimport taskq\n\n\n@taskq.actor(store_results=True)\n"
        "def double(x):\n    return 2 * x\n~~~\n\n"
        "~~~bash\ntaskq worker jobs -p 1 -t 2\n~~~\n\n"
        "~~~python\nfrom jobs import double\n\n"
        "print(double.send(21).get_result(block=True, timeout=10_000))  # 42\n~~~\n"
    )
    session = run(tmp_path, text)
    assert len(session.ran) == 3 and not session.background
