"""The Messages tab's VirtualTable on its own: rows drawn on screen only, updates in place, the
cursor kept on its row, keys and clicks."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from taskq_tui.widgets.virtual_table import Column, VirtualTable

pytestmark = pytest.mark.anyio


class TableApp(App[None]):
    """One table of ``rows`` keys; a row's cells are its key and a value that can change."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.values = {f"k{i}": f"v{i}" for i in range(rows)}
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(
            [Column("key", "Key", 8), Column("value", "Value", 10)],
            lambda key: [Text(key), Text(self.values.get(key, ""))],
            id="table",
        )

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(list(self.values))
        table.focus()

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)


def screen_lines(app: Any) -> list[str]:
    """The table's lines as drawn."""
    table = app.query_one(VirtualTable)
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


async def test_draws_the_rows_on_screen_only_and_follows_the_cursor() -> None:
    app = TableApp(10_000)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.row_count == 10_000 and table.cursor_key == "k9999"
        lines = screen_lines(app)
        assert lines[0].split() == ["Key", "Value"]
        assert lines[-1].split() == ["k9999", "v9999"]  # scrolled to the cursor, at the end
        drawn = table.rows_rendered
        await pilot.press("home")
        assert table.cursor_key == "k0" and screen_lines(app)[1].split() == ["k0", "v0"]
        assert table.rows_rendered - drawn <= 2 * (table.size.height - 1)
        await pilot.press("down", "down")
        assert table.cursor_key == "k2" and app.highlighted[-1] == "k2"
        await pilot.press("pagedown")
        assert table.cursor_row == 2 + table.size.height - 2


async def test_updates_in_place_and_keeps_the_cursor_on_its_row() -> None:
    app = TableApp(5)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        table.move_cursor(2)
        app.values["k2"] = "changed"
        table.refresh_key("k2")
        await pilot.pause()
        assert screen_lines(app)[3].split() == ["k2", "changed"]
        table.remove_row("k0")  # a row above the cursor goes: the cursor stays on k2
        await pilot.pause()
        assert table.cursor_key == "k2" and table.keys == ["k1", "k2", "k3", "k4"]
        table.append_row("k5")
        assert table.row_index("k5") == 4 and table.cursor_key == "k2"
        table.set_rows(["k4", "k2"], cursor_key="k2")  # a new filter that still shows k2
        assert table.cursor_key == "k2" and table.cursor_row == 1
        table.set_rows(["k7"], cursor_key="k2")  # k2 is gone: the cursor goes to the last row
        assert table.cursor_key == "k7"
        table.set_rows([])
        assert table.cursor_key is None and table.cursor_row == -1


async def test_a_click_selects_the_row_under_the_pointer() -> None:
    app = TableApp(5)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        await pilot.click(VirtualTable, offset=(2, 2))  # line 0 is the header
        assert app.query_one(VirtualTable).cursor_key == "k1"
