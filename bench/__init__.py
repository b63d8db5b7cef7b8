"""Benchmarks: taskq against Dramatiq, same machine, same servers, same run (`python -m bench`)."""
