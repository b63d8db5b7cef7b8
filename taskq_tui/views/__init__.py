"""The tab views of the taskq TUI (one module each); the registry in ``tabs.py`` lists them."""
