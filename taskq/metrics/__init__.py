"""Metrics: the Prometheus middleware and the ``taskq worker`` master's exposition endpoint.

- :mod:`taskq.metrics.prometheus`: the :class:`Prometheus` middleware (also importable as
  ``taskq.middleware.prometheus``, Dramatiq's path); needs ``prometheus-client``;
- :mod:`taskq.metrics.buffer`: batched metric updates for worker processes;
- :mod:`taskq.metrics.exposition`: the multi-process metrics directory, status files, health;
- :mod:`taskq.metrics.server`: the master's ``/metrics`` and ``/healthz`` HTTP server.

Nothing is imported here, so ``import taskq.metrics`` needs no optional dependency.
"""
