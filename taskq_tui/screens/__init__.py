"""Screens of the taskq TUI: the four tab views and the modal dialogs."""
