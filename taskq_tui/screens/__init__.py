"""Modal screens of the taskq TUI: confirm, enqueue (also used to retry), help."""
