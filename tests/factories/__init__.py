"""One module per broker kind, each exposing:

- ``make_broker(middleware=None)``: a context manager yielding an isolated broker (own namespace,
  vhost or file) that removes everything it created on exit;
- ``push_raw(broker, queue_name, payload: bytes)``: put raw bytes where producers in other
  languages would, to test validation and dead-lettering.
"""

BROKER_KINDS = ["stub", "sqlite", "redis", "rabbitmq"]
