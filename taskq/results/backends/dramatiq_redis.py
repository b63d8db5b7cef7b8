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
from ..backend import Missing
from ..result import FAILURE_MARK
from .redis import RedisBackend, as_bytes

if TYPE_CHECKING:
    import redis

    from ..backend import MessageRef

__all__ = ["FAILURE_MARK", "DramatiqRedisBackend"]


class DramatiqRedisBackend(RedisBackend):
    """A Redis result backend that shares results with Dramatiq 2.x processes.

    Use the namespace the Dramatiq side uses (its default, ``dramatiq-results``, is ours
    here too). Dramatiq keys a result by queue, actor and message id, so ``get_result`` needs
    the :class:`~taskq.Message`, not only its id. ``flush`` reaches only keys that carry the
    namespace prefix; results under digest keys expire after their TTL, as in Dramatiq.
    Values (results and failures) are in Dramatiq's format, as in every taskq backend.
    """

    def __init__(
        self,
        *,
        namespace: str = "dramatiq-results",
        encoder: Encoder | None = None,
        use_namespace_prefix_keys: bool = False,
        client: redis.Redis | None = None,
        url: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(
            namespace=namespace,
            encoder=encoder,
            use_namespace_prefix_keys=use_namespace_prefix_keys,
            client=client,
            url=url,
            **params,
        )

    def build_message_key(self, message: MessageRef) -> str:
        """Dramatiq's key: the digest (or the text) of namespace, queue, actor and id."""
        if isinstance(message, str):
            raise TypeError(
                f"DramatiqRedisBackend needs the Message, not only its id {message!r}: "
                "Dramatiq keys a result by queue, actor and message id"
            )
        text = f"{self.namespace}:{q_name(message.queue_name)}:{message.actor_name}:"
        text += message.message_id
        return text if self.use_namespace_prefix_keys else hashlib.md5(text.encode()).hexdigest()

    # -- storage: a one-element list per key ----------------------------------------------
    def _read(self, key: str) -> bytes | None:
        return as_bytes(self.client.lindex(key, 0))

    def _write(self, key: str, data: bytes, ttl: int) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.lpush(key, data)
        pipe.pexpire(key, ttl)
        pipe.execute()

    def _wait(self, key: str, timeout: int) -> Any:
        if timeout <= 0:
            return self._get(key)
        # redis-py's stub says int; the server takes the timeout in seconds as a float
        reply = self.client.blmove(key, key, timeout / 1000, "RIGHT", "LEFT")  # type: ignore[arg-type]
        data = as_bytes(reply)
        return Missing if data is None else self._decode(data)
