"""The fault and abuse suite (``pytest -m faults``): crashes, restarts, floods and bad input."""
