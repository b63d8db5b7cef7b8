"""Composition: ``pipeline`` (a chain, ``a | b | c``) and ``group`` (fan-out, with fan-in)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .broker import Broker
from .display import shorten, steps_html, steps_text
from .fan_in import record_members
from .global_broker import get_broker
from .group_members import STREAM_CHUNK, GroupMembers
from .message import Message
from .results.errors import ResultMissing, ResultTimeout

if TYPE_CHECKING:
    from .results.backend import ResultBackend


class pipeline:  # noqa: N801 - Dramatiq's name
    """Run messages one after the other, each receiving the previous one's result as its last
    argument (unless sent with ``pipe_ignore=True``). A step may be a :class:`group`: its members
    run in parallel and the next step receives the list of their results."""

    def __init__(self, children: Iterable[Any], *, broker: Broker | None = None) -> None:
        self.broker = broker or get_broker()
        self.steps: list[Message[Any] | group] = []
        for child in children:
            if isinstance(child, pipeline):
                self.steps.extend(_copy_step(step) for step in child.steps)
            elif isinstance(child, Message | group):
                self.steps.append(_copy_step(child))
            else:
                raise TypeError(f"pipeline() takes messages, groups and pipelines, not {child!r}")
        if not self.steps:
            raise ValueError("pipeline() needs at least one message")
        # Link back to front so that a step embeds its successor with all options already set.
        for step, next_step in reversed(list(zip(self.steps, self.steps[1:], strict=False))):
            _link(step, next_step)

    @property
    def messages(self) -> list[Message[Any]]:
        """Every message of the pipeline, group members included, in order."""
        out: list[Message[Any]] = []
        for step in self.steps:
            out.extend(step.children if isinstance(step, group) else [step])
        return out

    def __or__(self, other: Any) -> pipeline:
        return pipeline([self, other], broker=self.broker)

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return " | ".join(str(step) for step in self.steps)

    def run(self, *, delay: int | None = None) -> pipeline:
        """Enqueue the first step; the Pipelines middleware enqueues each next one.

        A message's own ``delay`` option (``message_with_options(delay=...)``) delays it when
        it is enqueued; for the first step the larger of that and ``delay`` applies.
        """
        for step in self.steps:
            if isinstance(step, group):
                step._remember_members(self.broker)
        first = self.steps[0]
        if isinstance(first, group):
            first.run(delay=delay)
        else:
            delay = max(delay or 0, first.options.get("delay") or 0) or None
            self.broker.enqueue(first, delay=delay)
        return self

    @property
    def completed(self) -> bool:
        """True once the last step has a result."""
        return self.completed_count == len(self.steps)

    @property
    def completed_count(self) -> int:
        """How many steps have finished."""
        count = 0
        for step in self.steps:
            try:
                if isinstance(step, group):
                    if not step.completed:
                        break
                else:
                    step.get_result(backend=self._backend())
            except ResultMissing:
                break
            count += 1
        return count

    def get_result(self, *, block: bool = False, timeout: int | None = None) -> Any:
        """The result of the last step (a list for a group); ``timeout`` in ms."""
        last = self.steps[-1]
        if isinstance(last, group):
            return list(last.get_results(block=block, timeout=timeout))
        return last.get_result(backend=self._backend(), block=block, timeout=timeout)

    def get_results(self, *, block: bool = False, timeout: int | None = None) -> Iterator[Any]:
        """Yield each step's result in order; ``timeout`` (ms) bounds the whole wait."""
        deadline = _Deadline(timeout)
        for step in self.steps:
            if isinstance(step, group):
                yield list(step.get_results(block=block, timeout=deadline.remaining()))
            else:
                yield step.get_result(
                    backend=self._backend(), block=block, timeout=deadline.remaining()
                )

    def _backend(self) -> ResultBackend:
        return self.broker.get_results_backend()

    def __repr__(self) -> str:
        return f"pipeline({len(self.steps)} steps: {shorten(str(self), 200)})"

    def _repr_html_(self) -> str:
        return steps_html("pipeline", [_step_row(s) for s in self.steps])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": steps_text("pipeline", [_step_row(s) for s in self.steps]),
            "text/html": self._repr_html_(),
        }


class group:  # noqa: N801 - Dramatiq's name
    """Run messages (or pipelines, or other groups) in parallel; ``wait`` for all,
    ``get_results`` in order (a list for an inner group), or ``add_completion_callback`` to
    enqueue a message once all of them finished (not with inner groups, as in Dramatiq)."""

    def __init__(self, children: Iterable[Any], *, broker: Broker | None = None) -> None:
        self.broker = broker or get_broker()
        #: A generator or iterator is kept as it is: ``run`` streams it in chunks of
        #: :data:`STREAM_CHUNK` and keeps only each member's ids (see :class:`GroupMembers`),
        #: so a group of a million messages needs a few tens of MB, not gigabytes.
        self._pending: Iterator[Any] | None = None
        self._streamed: GroupMembers | None = None
        self._children: list[Any] | None = None
        if isinstance(children, Iterator):
            self._pending = children
        else:
            self.children = list(children)
        self.group_id = str(uuid.uuid4())
        self.completion_callbacks: list[dict[str, Any]] = []

    @property
    def children(self) -> list[Any]:
        """The members. A group made from an iterator is read into a list on first access
        before ``run``; after a streamed ``run`` the members are stand-ins that carry the ids
        (queue, actor, message id) results are found by, not the arguments."""
        if self._children is None:
            if self._streamed is not None:
                return list(self._streamed)
            self.children = list(self._pending or ())
            self._pending = None
        assert self._children is not None
        return self._children

    @children.setter
    def children(self, children: list[Any]) -> None:
        for child in children:
            _check_member(child)
        self._children = children
        self._pending = None
        self._streamed = None

    def _members(self) -> Iterable[Any]:
        """The members, without building a list for a streamed group."""
        return self._streamed if self._streamed is not None else self.children

    def __len__(self) -> int:
        return len(self._streamed) if self._streamed is not None else len(self.children)

    def __str__(self) -> str:
        if self._streamed is not None:
            return f"group([{len(self._streamed)} streamed members])"
        return f"group([{', '.join(str(c) for c in self.children)}])"

    def __or__(self, other: Any) -> pipeline:
        return pipeline([self, other], broker=self.broker)

    def add_completion_callback(self, message: Message[Any]) -> None:
        """Enqueue ``message`` once every member finished (needs GroupCallbacks)."""
        self.completion_callbacks.append(message.asdict())

    def run(self, *, delay: int | None = None) -> group:
        """Enqueue every member, in one round trip where the broker supports it."""
        if self.completion_callbacks:
            # Imported here: a broker that runs completion callbacks has this middleware, so
            # the module is loaded already; other programs never need the barrier it brings.
            from .middleware.group_callbacks import GroupCallbacks

            middleware = self.broker.get_middleware(GroupCallbacks)
            if middleware is None:
                raise RuntimeError("add_completion_callback() needs the GroupCallbacks middleware")
            middleware.create_barrier(self.group_id, len(self.children))  # type: ignore[attr-defined]
            extra = {
                "group_completion_uuid": self.group_id,
                "group_completion_callbacks": self.completion_callbacks,
            }
            self.children = [_with_options(child, extra) for child in self.children]
        if self._streamed is not None:
            raise RuntimeError(
                "this group was made from a generator and has run: its messages are gone "
                "(make the group from a list to run it more than once)"
            )
        if self._pending is not None and not self.completion_callbacks:
            self._stream(self._pending, delay)
            return self
        messages = []
        for child in self.children:
            if isinstance(child, pipeline | group):
                child.run(delay=delay)
            else:
                messages.append(child)
        if messages:
            self.broker.enqueue_many(messages, delay=delay)
        return self

    def _stream(self, children: Iterator[Any], delay: int | None) -> None:
        """Enqueue ``children`` in chunks of :data:`STREAM_CHUNK`, remembering only ids.

        Each chunk is one ``enqueue_many`` (one round trip or transaction); the chunks before
        a failing one stay enqueued.
        """
        self._pending = None
        members = self._streamed = GroupMembers()
        chunk: list[Message[Any]] = []
        for child in children:
            _check_member(child)
            members.add(child)
            if isinstance(child, Message):
                chunk.append(child)
                if len(chunk) >= STREAM_CHUNK:
                    self.broker.enqueue_many(chunk, delay=delay)
                    chunk = []
            else:
                child.run(delay=delay)
        if chunk:
            self.broker.enqueue_many(chunk, delay=delay)

    @property
    def completed(self) -> bool:
        """True once every member has a result."""
        return self.completed_count == len(self)

    @property
    def completed_count(self) -> int:
        """How many members have finished."""
        count = 0
        for child in self._members():
            try:
                if isinstance(child, pipeline | group):
                    if child.completed:
                        count += 1
                else:
                    child.get_result(backend=self.broker.get_results_backend())
                    count += 1
            except ResultMissing:
                pass
        return count

    def get_results(self, *, block: bool = False, timeout: int | None = None) -> Iterator[Any]:
        """Yield each member's result in order; ``timeout`` (ms) bounds the whole wait."""
        deadline = _Deadline(timeout)
        backend = self.broker.get_results_backend()
        for child in self._members():
            if isinstance(child, pipeline):
                yield child.get_result(block=block, timeout=deadline.remaining())
            elif isinstance(child, group):
                yield list(child.get_results(block=block, timeout=deadline.remaining()))
            else:
                yield child.get_result(backend=backend, block=block, timeout=deadline.remaining())

    def wait(self, *, timeout: int | None = None) -> None:
        """Block until every member finished; ``timeout`` in ms. Raises ResultTimeout."""
        for _ in self.get_results(block=True, timeout=timeout):
            pass

    def _remember_members(self, broker: Broker) -> None:
        members = [[m.queue_name, m.actor_name, m.message_id] for m in self.children]
        record_members(broker.get_results_backend(), self.group_id, members)

    def __repr__(self) -> str:
        return f"group({len(self.children)} members: {shorten(str(self), 200)})"

    def _repr_html_(self) -> str:
        return steps_html("group", [_step_row(c) for c in self.children])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": steps_text("group", [_step_row(c) for c in self.children]),
            "text/html": self._repr_html_(),
        }


def _check_member(child: Any) -> None:
    if not isinstance(child, Message | pipeline | group):
        raise TypeError(f"group() takes messages, pipelines and groups, not {child!r}")


class _Deadline:
    def __init__(self, timeout: int | None) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout / 1000

    def remaining(self) -> int | None:
        if self.end is None:
            return None
        left = int((self.end - time.monotonic()) * 1000)
        if left <= 0:
            raise ResultTimeout("timed out waiting for results")
        return left


def _copy_step(step: Message[Any] | group) -> Message[Any] | group:
    if isinstance(step, group):
        copied = group(
            [_copy_step(c) if isinstance(c, Message) else c for c in step.children],
            broker=step.broker,
        )
        copied.completion_callbacks = list(step.completion_callbacks)
        return copied
    return step.copy()


def _link(step: Message[Any] | group, next_step: Message[Any] | group) -> None:
    """Point ``step`` at ``next_step``: a message's ``pipe_target``, or its group's fan-in."""
    if isinstance(next_step, group) and not all(isinstance(c, Message) for c in next_step.children):
        raise NotImplementedError("a pipeline step that is a group holds messages only")
    target: Any = (
        [m.asdict() for m in next_step.children]
        if isinstance(next_step, group)
        else next_step.asdict()
    )
    if isinstance(step, group):
        step.children = [
            _with_options(
                child,
                {
                    "group_id": step.group_id,
                    "group_size": len(step.children),
                    "group_target": target,
                    "store_results": True,
                },
            )
            for child in step.children
        ]
    else:
        step.options["pipe_target"] = target


def _with_options(child: Any, options: dict[str, Any]) -> Any:
    if isinstance(child, group):
        raise NotImplementedError(
            "a group inside a group can neither be a pipeline step nor have completion callbacks"
        )
    if isinstance(child, pipeline):
        last = child.steps[-1]
        if isinstance(last, Message):
            last.options.update(options)
        return child
    return child.copy(options={**child.options, **options})


def _step_row(step: Any) -> tuple[str, str]:
    """(message id or member count, call) for one step of a pipeline or member of a group."""
    if isinstance(step, Message):
        return step.message_id, shorten(str(step), 120)
    if isinstance(step, group):
        return f"group of {len(step.children)}", shorten(str(step), 120)
    return f"pipeline of {len(step.steps)}", shorten(str(step), 120)
