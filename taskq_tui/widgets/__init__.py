"""Reusable widgets of the taskq TUI."""
