"""Inspection for the Redis broker: queue stats, dead letters and worker heartbeats.

Composed into :class:`~taskq.brokers.redis.RedisBroker` as its ``admin``; the broker keeps
thin methods of the same names that delegate here."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...broker import DeadLetter
from ...common import current_millis, q_name
from ..shared import dead_letter_entry, decode_or_none

if TYPE_CHECKING:
    import redis

    from .broker import RedisBroker


#: Hash entries one call of the dead-letter search script looks at.
SEARCH_SCAN_COUNT = 2000
#: One HSCAN step over a dead-letter hash, keeping the ids whose id, payload or reason
#: contains ARGV[2] (lower case; a plain find, not a pattern). Returns {next cursor, ids}.
SEARCH_LUA = """
local step = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[3])
local entries, found, needle = step[2], {}, ARGV[2]
for i = 1, #entries, 2 do
  local id, payload = entries[i], entries[i + 1]
  local hit = string.find(string.lower(id), needle, 1, true)
    or string.find(string.lower(payload), needle, 1, true)
  if not hit then
    local reason = redis.call('HGET', KEYS[2], id)
    hit = reason and string.find(string.lower(reason), needle, 1, true)
  end
  if hit then found[#found + 1] = id end
end
return {step[1], found}
"""


class RedisAdmin:
    """Read-mostly operations used by ``taskq info``, the TUI and notebooks, on the broker's
    client, namespace and scripts."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.client: redis.Redis = broker.client
        self.namespace = broker.namespace
        self.scripts: dict[str, Any] = broker.scripts
        self._search_script: Any = None

    def _dead_key(self, queue_name: str) -> str:
        return f"{self.namespace}:{q_name(queue_name)}.XQ"

    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per declared queue: ``ready`` (waiting), ``delayed`` (on the delay queue, waiting or
        held by a worker), ``in_flight`` (fetched, not acked) and ``dead`` counts."""
        queues = sorted(self.broker.get_declared_queues())
        if not queues:
            return {}
        counts = self.scripts["stats"](args=[self.namespace, *queues])
        fields = ("ready", "delayed", "in_flight", "dead")
        return {
            name: dict(zip(fields, (int(c) for c in counts[i * 4 : i * 4 + 4]), strict=True))
            for i, name in enumerate(queues)
        }

    def dead_letter_messages(self, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters of ``queue_name``, newest first."""
        dead = self._dead_key(queue_name)
        entries: Any = self.client.zrevrange(dead, 0, max(0, limit - 1), withscores=True)
        if not entries or limit <= 0:
            return []
        return self._load_dead_letters(queue_name, entries)

    def search_dead_letters(
        self, queue_name: str, text: str, *, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters whose id, payload or reason contains ``text`` (case-insensitive for
        ASCII), newest first. The ``.XQ.msgs`` hash is walked with HSCAN inside a Lua script
        that filters on the server (HSCAN's MATCH only sees field names, i.e. ids, not
        payloads), ``SEARCH_SCAN_COUNT`` entries per call; then the matches are ordered by
        their dead-at score and the newest ``limit`` are loaded."""
        if limit <= 0:
            return []
        dead = self._dead_key(queue_name)
        script = self._search_script
        if script is None:
            script = self._search_script = self.client.register_script(SEARCH_LUA)
        needle = text.strip().lower()
        cursor: bytes | str | int = 0
        matched: list[str] = []
        while True:
            cursor, found = script(
                keys=[f"{dead}.msgs", f"{dead}.reasons"], args=[cursor, needle, SEARCH_SCAN_COUNT]
            )
            matched += [_text(member) for member in found]
            if _text(cursor) == "0":
                break
        if not matched:
            return []
        scores = self.client.zmscore(dead, matched)
        entries = sorted(
            ((m, score) for m, score in zip(matched, scores, strict=True) if score is not None),
            key=lambda entry: entry[1],
            reverse=True,
        )
        return self._load_dead_letters(queue_name, entries[:limit])

    def _load_dead_letters(
        self, queue_name: str, entries: list[tuple[Any, float]]
    ) -> list[DeadLetter]:
        """Dead letters for ``(redis id, dead-at score)`` pairs, in that order."""
        dead = self._dead_key(queue_name)
        ids = [_text(member) for member, _ in entries]
        payloads = self.client.hmget(f"{dead}.msgs", ids)
        reasons = self.client.hmget(f"{dead}.reasons", ids)
        letters = []
        for (redis_id, (_, dead_at)), payload, reason in zip(
            zip(ids, entries, strict=True), payloads, reasons, strict=True
        ):
            if payload is None:
                continue  # expired between the two reads
            raw = payload if isinstance(payload, bytes) else payload.encode()
            letters.append(
                dead_letter_entry(
                    queue_name,
                    raw,
                    reason=_text(reason) if reason is not None else None,
                    dead_at=int(dead_at),
                    fallback_id=redis_id,
                )
            )
        return letters

    def requeue_dead_letters(self, queue_name: str, message_ids: Iterable[str]) -> int:
        """Move dead letters (by message id, or Redis id for undecodable ones) back onto their
        queue; returns how many moved."""
        wanted = set(message_ids)
        if not wanted:
            return 0
        dead = self._dead_key(queue_name)
        ids = [_text(member) for member in self.client.zrange(dead, 0, -1)]
        if not ids:
            return 0
        payloads = self.client.hmget(f"{dead}.msgs", ids)
        chosen = []
        for redis_id, payload in zip(ids, payloads, strict=True):
            if payload is None:
                continue
            message = decode_or_none(payload if isinstance(payload, bytes) else payload.encode())
            if redis_id in wanted or (message is not None and message.message_id in wanted):
                chosen.append(redis_id)
        if not chosen:
            return 0
        return int(self.scripts["requeue_dead"](args=[self.namespace, q_name(queue_name), *chosen]))

    def purge_dead_letters(self, queue_name: str) -> int:
        """Delete every dead letter of ``queue_name``; returns how many were deleted."""
        dead = self._dead_key(queue_name)
        pipe = self.client.pipeline(transaction=True)
        pipe.zcard(dead)
        pipe.delete(dead, f"{dead}.msgs", f"{dead}.reasons")
        count, _ = pipe.execute()
        return int(count)

    def worker_heartbeats(self) -> list[dict[str, Any]]:
        """Workers in this namespace (taskq's and Dramatiq's): ``worker_id``, ``last_seen``
        (ms), ``alive``, plus ``hostname``, ``pid`` and ``queues`` for taskq workers."""
        ns = self.namespace
        pipe = self.client.pipeline(transaction=False)
        pipe.zrange(f"{ns}:__heartbeats__", 0, -1, withscores=True)
        pipe.hgetall(f"{ns}:__workers__")
        beats, infos = pipe.execute()
        infos = {_text(k): v for k, v in infos.items()}
        now = current_millis()
        workers = []
        for member, score in beats:
            worker_id = _text(member)
            entry: dict[str, Any] = {}
            if worker_id in infos:
                with contextlib.suppress(ValueError):
                    entry.update(json.loads(infos[worker_id]))
            entry.update(
                worker_id=worker_id,
                last_seen=int(score),
                alive=int(score) > now - self.broker.heartbeat_timeout,
            )
            workers.append(entry)
        return workers


def _text(value: Any) -> str:
    """A Redis reply item (bytes, or str, or a number such as a SCAN cursor) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
