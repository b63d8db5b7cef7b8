"""Results in Redis, laid out exactly as Dramatiq's ``RedisBackend`` keeps them, so a taskq
process and a Dramatiq process read each other's results during a migration.

Dramatiq's layout, which this module follows:

- the key is the MD5 hex digest of ``{namespace}:{queue}:{actor}:{message_id}`` (that text
  itself with ``use_namespace_prefix_keys=True``); the queue name is the canonical one;
- the value is a one-element list (DEL, LPUSH, PEXPIRE in one transaction), so a blocking
  reader pops it onto itself (BLMOVE RIGHT LEFT, what BRPOPLPUSH does) and leaves it in place;
- a result is stored as its JSON, a failure as
  ``{"__t": "dramatiq.results.Result", "exn": {"type": ..., "msg": ...}}``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ...common import q_name
from ...encoder import Encoder
from ..errors import ResultFailure
from .redis import RedisBackend, as_bytes

if TYPE_CHECKING:
    import redis

    from ...message import Message

#: Marks a stored failure in Dramatiq's result format.
FAILURE_MARK = "dramatiq.results.Result"


class DramatiqRedisBackend(RedisBackend):
    """A Redis result backend that shares results with Dramatiq 2.x processes.

    Use the namespace the Dramatiq side uses (its default, ``dramatiq-results``, is ours
    here too). Dramatiq keys a result by queue, actor and message id, so ``get_result`` needs
    the :class:`~taskq.Message`, not only its id. ``flush`` reaches only keys that carry the
    namespace prefix; results under digest keys expire after their TTL, as in Dramatiq.
    """

    def __init__(
        self,
        *,
        namespace: str = "dramatiq-results",
        use_namespace_prefix_keys: bool = False,
        encoder: Encoder | None = None,
        client: redis.Redis | None = None,
        url: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(namespace=namespace, encoder=encoder, client=client, url=url, **params)
        self.use_namespace_prefix_keys = use_namespace_prefix_keys

    def build_message_key(self, message: Message[Any] | str) -> str:
        """Dramatiq's key: the digest (or the text) of namespace, queue, actor and id."""
        if isinstance(message, str):
            raise TypeError(
                f"DramatiqRedisBackend needs the Message, not only its id {message!r}: "
                "Dramatiq keys a result by queue, actor and message id"
            )
        text = f"{self.namespace}:{q_name(message.queue_name)}:{message.actor_name}:"
        text += message.message_id
        return text if self.use_namespace_prefix_keys else hashlib.md5(text.encode()).hexdigest()

    # -- values ---------------------------------------------------------------------------
    def _encode_result(self, result: Any) -> bytes:
        return self.encoder.encode(result)

    def _encode_exception(self, exception: BaseException) -> bytes:
        failure = {"type": type(exception).__name__, "msg": str(exception)}
        return self.encoder.encode({"__t": FAILURE_MARK, "exn": failure})

    def _unwrap(self, data: bytes) -> Any:
        value = self.encoder.decode(data)
        if isinstance(value, dict) and value.get("__t") == FAILURE_MARK:
            kind, text = value["exn"]["type"], value["exn"]["msg"]
            raise ResultFailure(f"actor raised {kind}: {text}", kind, text)
        return value

    # -- storage: a one-element list per key ----------------------------------------------
    def _get(self, key: str) -> bytes | None:
        return as_bytes(self.client.lindex(key, 0))

    def _store(self, key: str, value: bytes, ttl: int) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.lpush(key, value)
        pipe.pexpire(key, ttl)
        pipe.execute()

    def _delete(self, key: str) -> None:
        self.client.delete(key)

    def _wait(self, key: str, timeout: int) -> bytes | None:
        if timeout <= 0:
            return self._get(key)
        return as_bytes(self.client.blmove(key, key, timeout / 1000, "RIGHT", "LEFT"))
