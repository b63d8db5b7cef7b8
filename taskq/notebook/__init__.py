"""taskq in Jupyter: run a worker (in the kernel for actors defined in cells, or as processes
for a module), enqueue from a form, watch results arrive, see queues.

Imported only when used (``import taskq`` never imports this package or ipywidgets); each
function imports ipywidgets lazily and falls back to the terminal (a rich progress bar or table)
when ipywidgets is missing or when not running in a Jupyter kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..global_broker import get_broker
from .kernel_worker import KernelWorker
from .runner import WorkerProcess, run_worker
from .setup import results_backend_for, setup_broker
from .watch import Watch

if TYPE_CHECKING:
    from ..actor import Actor
    from ..broker import Broker
    from .form import EnqueueForm
    from .queues import QueuesPanel
    from .results import ResultView


def enqueue_form(actor: Actor[..., Any]) -> EnqueueForm:
    """A form for ``actor``: one field per parameter (from its type hints), copies, delay,
    a Send button, inline validation errors and the list of sent message ids."""
    from .form import EnqueueForm

    return EnqueueForm(actor)


def watch(target: Any, *, broker: Broker | None = None, poll_interval: int = 200) -> Watch:
    """Follow messages live without blocking the kernel: a message, message ids, a group, a
    pipeline or a list of them. Shows a progress bar (done, failed, running, queued, rate, ETA)
    and one line per failure with its traceback a click away. Returns a :class:`Watch`
    (``wait(timeout=ms)``, ``await watch.wait_async()``, ``close()``, ``results``, ``errors``,
    ``counts``, ``to_dataframe()``).

    Statuses come from lifecycle events (workers started with ``--events``, as
    :func:`run_worker` does) and from the results backend (actors with ``store_results=True``);
    a message is followed to completion when at least one of the two reports on it."""
    return Watch(target, broker=broker, poll_interval=poll_interval).show()


def queues(broker: Broker | None = None, *, interval: int = 1000) -> QueuesPanel:
    """A small live panel of queue depths and live workers, refreshed every ``interval`` ms."""
    from .queues import QueuesPanel

    return QueuesPanel(broker or get_broker(), interval=interval).show()


def result(target: Any, *, block: bool = False, timeout: int | None = None) -> ResultView:
    """The result of a message, group or pipeline with a rich repr (a table in Jupyter)."""
    from .results import ResultView

    return ResultView.fetch(target, block=block, timeout=timeout)


__all__: Sequence[str] = [
    "KernelWorker",
    "Watch",
    "WorkerProcess",
    "enqueue_form",
    "queues",
    "result",
    "results_backend_for",
    "run_worker",
    "setup_broker",
    "watch",
]
