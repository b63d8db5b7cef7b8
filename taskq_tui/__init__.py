"""The taskq terminal UI (Textual). Launch it with ``taskq tui``."""
