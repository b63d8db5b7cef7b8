"""``taskq worker``'s processes: the master and what it runs in each worker process.

- :mod:`~taskq.supervisor.master`: the master (start, replace, signal and reload the worker
  processes; the pid file and the metrics endpoint);
- :mod:`~taskq.supervisor.config`: the options of a group and the exit codes;
- :mod:`~taskq.supervisor.worker_main`: the body of each worker process;
- the master's helpers: ``children``, ``forks``, ``heartbeat``, ``metrics_endpoint``,
  ``pidfile``, ``signals``, ``startup``, ``watch``, ``modules``.

Nothing is imported here, so the CLI reads its options from ``config`` without loading the
master.
"""
