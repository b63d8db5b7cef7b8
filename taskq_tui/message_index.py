"""One record per message, built from lifecycle events: what the Messages tab lists and searches.

Events of one message (enqueued, started, failed, retried, started again, succeeded...) fold into
a :class:`MessageRecord` that is updated in place. :class:`MessageIndex` keeps the newest
``capacity`` records in first-seen order and logs which records changed, so the table can update
the rows that moved instead of redrawing everything.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from taskq.events.schema import EventKind

Event = dict[str, Any]

#: The status each event puts its message in.
STATUS_BY_EVENT = {
    "enqueued": "queued",
    "delayed": "delayed",
    "started": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "retried": "retried",
    "dead_lettered": "dead",
    "skipped": "skipped",
}
#: Statuses offered by the status filter, in lifecycle order.
STATUSES = [
    "queued",
    "delayed",
    "running",
    "succeeded",
    "failed",
    "retried",
    "dead",
    "skipped",
    "aborted",
]
#: Order of events that share a millisecond (a retry is announced as its failure is recorded).
EVENT_RANK = {
    "enqueued": 0,
    "delayed": 0,
    "started": 1,
    "succeeded": 2,
    "failed": 2,
    "skipped": 2,
    "retried": 3,
    "dead_lettered": 4,
}
#: Statuses after which a message may have a stored result (or stored failure).
FINISHED = {"succeeded", "failed", "dead", "aborted", "skipped"}
#: Changes remembered for :meth:`MessageIndex.changed_since`; older readers rebuild instead.
CHANGE_LOG = 20_000


def _order(event: Event) -> tuple[int, int]:
    return int(event.get("timestamp") or 0), EVENT_RANK.get(str(event.get("event")), 2)


def _compact(value: Any) -> str:
    if value in (None, [], {}):
        return ""
    try:
        return json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(eq=False)
class MessageRecord:
    """What the TUI knows about one message, from every event seen for it."""

    message_id: str
    queue_name: str = ""
    actor_name: str = ""
    args: Any = None
    kwargs: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    status: str = "?"
    worker: str = ""
    duration_ms: int | None = None
    retries: int = 0
    exception_type: str = ""
    exception: str = ""
    traceback: str = ""
    reason: str = ""
    result: Any = None
    eta: int | None = None
    #: Every event of the message, ordered by (timestamp, lifecycle rank).
    events: list[Event] = field(default_factory=list)
    #: Lower-cased text the search matches: id, actor, queue, arguments, error.
    search: str = ""
    #: Whatever a view derived from the record (its table cells); cleared on every change.
    view_cache: Any = None

    @property
    def first_at(self) -> int:
        """When the message was first seen (UNIX ms): usually its enqueue time."""
        return int(self.events[0].get("timestamp") or 0) if self.events else 0

    @property
    def error(self) -> str:
        """``Type: message`` of the last failure, or the dead-letter reason's last line."""
        if self.exception_type and not self.exception:
            return self.exception_type  # Abort, raised without a message
        if self.exception_type or self.exception:
            return f"{self.exception_type or 'Error'}: {self.exception}".strip()
        lines = [line for line in self.reason.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""

    def args_text(self) -> str:
        """Args and kwargs as compact JSON, for the table."""
        return " ".join(t for t in (_compact(self.args), _compact(self.kwargs)) if t)

    def apply(self, event: Event) -> None:
        """Fold one event into the record."""
        name = str(event.get("event", "?"))
        self.view_cache = None
        if not self.events or _order(event) >= _order(self.events[-1]):
            self.events.append(event)
        else:  # out of order (a producer's "enqueued" may arrive after a worker's "started")
            keys = [_order(e) for e in self.events]
            self.events.insert(bisect.bisect_right(keys, _order(event)), event)
        self.queue_name = self.queue_name or str(event.get("queue_name") or "")
        self.actor_name = self.actor_name or str(event.get("actor_name") or "")
        searchable = False
        if event.get("args") is not None and self.args is None:
            self.args, self.kwargs = event.get("args"), event.get("kwargs")
            searchable = True
        if isinstance(event.get("options"), dict) and event["options"]:
            self.options = {**self.options, **event["options"]}
        if name != EventKind.ENQUEUED and event.get("worker"):
            self.worker = str(event["worker"])
        if event.get("duration_ms") is not None:
            self.duration_ms = int(event["duration_ms"])
        if event.get("retries") is not None:
            self.retries = max(self.retries, int(event["retries"] or 0))
        if event.get("eta"):
            self.eta = int(event["eta"])
        if name == "failed":
            self.exception_type = str(event.get("exception_type") or "")
            self.exception = str(event.get("exception") or "")
            self.traceback = str(event.get("traceback") or "")
            searchable = True
        elif name == "dead_lettered":
            self.reason = str(event.get("reason") or "")
            searchable = True
        elif name == "succeeded" and "result" in event:
            self.result = event["result"]
        self.status = self._status()
        if searchable or not self.search:
            self.search = self._search_text()

    def _status(self) -> str:
        last = self.events[-1]
        name = str(last.get("event", "?"))
        if name == "enqueued" and (last.get("eta") or (last.get("options") or {}).get("eta")):
            return "delayed"
        if name == "failed" and last.get("exception_type") == "Abort":
            return "aborted"
        if name == "skipped" and any(e.get("exception_type") == "Abort" for e in self.events):
            return "aborted"
        return STATUS_BY_EVENT.get(name, name)

    def _search_text(self) -> str:
        parts = [
            self.message_id,
            self.actor_name,
            self.queue_name,
            _compact(self.args),
            _compact(self.kwargs),
            self.exception_type,
            self.exception,
            self.reason,
        ]
        return " ".join(p for p in parts if p).lower()


@dataclass(frozen=True)
class MessageFilter:
    """Which messages the table shows; empty fields match everything."""

    queue: str = ""
    actor: str = ""
    status: str = ""
    text: str = ""

    def matches(self, record: MessageRecord) -> bool:
        """True when ``record`` passes every set field."""
        if self.queue and record.queue_name != self.queue:
            return False
        if self.actor and record.actor_name != self.actor:
            return False
        if self.status and record.status != self.status:
            return False
        return not self.text or self.text.lower() in record.search

    @property
    def active(self) -> bool:
        """True when any field is set."""
        return bool(self.queue or self.actor or self.status or self.text)


class MessageIndex:
    """The newest ``capacity`` messages, one :class:`MessageRecord` each, in first-seen order."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.records: dict[str, MessageRecord] = {}
        self.total_events = 0
        self.actors: set[str] = set()
        self.queues: set[str] = set()
        self.done_by_worker: collections.Counter[str] = collections.Counter()
        #: Bumped on every change; :meth:`changed_since` answers from the log below.
        self.version = 0
        self._log: collections.deque[tuple[int, MessageRecord]] = collections.deque(
            maxlen=CHANGE_LOG
        )

    def __len__(self) -> int:
        return len(self.records)

    def get(self, message_id: str) -> MessageRecord | None:
        """The record of ``message_id``, if held."""
        return self.records.get(message_id)

    def extend(self, events: Iterable[Event]) -> None:
        """Fold events into their messages' records (new messages are added at the end)."""
        records = self.records
        for event in events:
            message_id = event.get("message_id")
            if not message_id:
                continue
            self.total_events += 1
            record = records.get(message_id)
            if record is None:
                record = records[message_id] = MessageRecord(str(message_id))
                if len(records) > self.capacity:
                    oldest = records.pop(next(iter(records)))
                    self.version += 1
                    self._log.append((self.version, oldest))
            record.apply(event)
            if record.actor_name:
                self.actors.add(record.actor_name)
            if record.queue_name:
                self.queues.add(record.queue_name)
            if event.get("event") in (EventKind.SUCCEEDED, EventKind.FAILED) and event.get(
                "worker"
            ):
                self.done_by_worker[str(event["worker"])] += 1
            self.version += 1
            self._log.append((self.version, record))

    def changed_since(self, version: int) -> list[MessageRecord] | None:
        """Records changed (or dropped) after ``version``, each once, in the order they first
        changed; None when the log no longer reaches back that far."""
        if version >= self.version:
            return []
        if not self._log or self._log[0][0] > version + 1:
            return None
        changed: dict[str, MessageRecord] = {}
        start = len(self._log) - (self.version - version)
        for _, record in itertools.islice(self._log, max(0, start), None):
            changed.setdefault(record.message_id, record)
        return list(changed.values())

    def newest(self, message_filter: MessageFilter, limit: int) -> list[MessageRecord]:
        """The newest ``limit`` records passing ``message_filter``, oldest first."""
        records = reversed(self.records.values())
        if not message_filter.active:
            found = list(itertools.islice(records, limit))
        elif message_filter.text and not (
            message_filter.queue or message_filter.actor or message_filter.status
        ):  # the search box alone: the common case, kept to one substring test per message
            needle = message_filter.text.lower()
            found = list(itertools.islice((r for r in records if needle in r.search), limit))
        else:
            found = list(itertools.islice(filter(message_filter.matches, records), limit))
        found.reverse()
        return found

    def done_by_pid(self, pid: int) -> int:
        """Messages finished by the worker process ``pid`` (events name workers host:pid)."""
        suffix = f":{pid}"
        return sum(n for worker, n in self.done_by_worker.items() if worker.endswith(suffix))

    def oldest_waiting(self) -> dict[str, int]:
        """Per queue, when the oldest message seen queued (and not yet started) was enqueued."""
        waiting: dict[str, int] = {}
        for record in self.records.values():
            if record.status == "queued":
                at = record.first_at
                if record.queue_name not in waiting or at < waiting[record.queue_name]:
                    waiting[record.queue_name] = at
        return waiting
