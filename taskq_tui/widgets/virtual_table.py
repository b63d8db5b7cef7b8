"""A table that draws only the rows on screen: the Messages tab's list of up to thousands of rows.

Rows are keys; their cells come from a callback when a row is drawn, so replacing every row
(a new search) or updating one (an event arrived) costs nothing until the frame, and the frame
renders the visible rows alone: a fixed cost, however many rows are held. Textual's DataTable
re-renders each visible cell through Rich after any change, which took most of a keystroke's
time with a search over 100,000 messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Column:
    """One column: its key, header label and width in cells (the last column takes the rest)."""

    key: str
    label: str
    width: int


class VirtualTable(ScrollView, can_focus=True):
    """Rows are keys in order; ``cells(key)`` gives a row's cells (one :class:`Text` a column).

    The header stays on the top line; the cursor is a row index (-1 when there are no rows).
    """

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        & > .virtual-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """
    COMPONENT_CLASSES = {"virtual-table--header", "virtual-table--cursor"}
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First row", show=False),
        Binding("end", "cursor_to(-1)", "Last row", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor moved to another row (or another row came under it)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            """The table (so ``@on(VirtualTable.RowHighlighted, "#id")`` works)."""
            return self.table

    cursor_row: reactive[int] = reactive(-1, always_update=True)

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[str], Sequence[Text]],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self._cells = cells
        self._keys: list[str] = []
        self._positions: dict[str, int] | None = {}
        self._highlighted: str | None = None
        #: Rows drawn since the table was created (what a frame costs is what it draws).
        self.rows_rendered = 0

    # -- rows -------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """How many rows the table holds (not only those on screen)."""
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """Row keys, top to bottom (a copy)."""
        return list(self._keys)

    @property
    def cursor_key(self) -> str | None:
        """Key of the row under the cursor."""
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    def row_index(self, key: str) -> int | None:
        """Position of ``key``'s row, if held."""
        if self._positions is None:
            self._positions = {k: i for i, k in enumerate(self._keys)}
        return self._positions.get(key)

    def row_texts(self, row: int) -> list[str]:
        """The plain text of each cell of ``row``."""
        return [cell.plain for cell in self._cells(self._keys[row])]

    def set_rows(self, keys: Sequence[str], cursor_key: str | None = None) -> None:
        """Replace every row; the cursor goes to ``cursor_key``'s row, else to the last row."""
        self._keys = list(keys)
        self._positions = None
        index = self.row_index(cursor_key) if cursor_key is not None else None
        self._resized()
        self.move_cursor(len(self._keys) - 1 if index is None else index)
        self.refresh()

    def append_row(self, key: str) -> None:
        """Add a row at the bottom."""
        if self._positions is not None:
            self._positions[key] = len(self._keys)
        self._keys.append(key)
        self._resized()
        self.refresh_key(key)

    def remove_row(self, key: str) -> None:
        """Drop ``key``'s row; the cursor stays on the row it was on, if that one is kept."""
        index = self.row_index(key)
        if index is None:
            return
        del self._keys[index]
        self._positions = None
        self._resized()
        if index < self.cursor_row or self.cursor_row >= len(self._keys):
            self.move_cursor(self.cursor_row - 1)
        self.refresh()

    def refresh_key(self, key: str) -> None:
        """Redraw ``key``'s row (its cells changed), if it is on screen."""
        index = self.row_index(key)
        if index is not None:
            self.refresh_line(index - int(self.scroll_y) + 1)
            if index == self.cursor_row and key != self._highlighted:
                self._announce()

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._keys) + 1)

    # -- the cursor -------------------------------------------------------------------------------
    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        self.cursor_row = max(-1, min(row, len(self._keys) - 1))

    def validate_cursor_row(self, row: int) -> int:
        return max(-1, min(row, len(self._keys) - 1))

    def watch_cursor_row(self, old: int, row: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def _scroll_to_cursor(self) -> None:
        row = self.cursor_row
        if row < 0 or not self.size.height:
            return  # not laid out yet: on_resize comes back here
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    def action_cursor(self, step: int) -> None:
        """Move the cursor ``step`` rows."""
        self.move_cursor(max(0, self.cursor_row + step))

    def action_page(self, direction: int) -> None:
        """Move the cursor one screen up or down."""
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_cursor_to(self, row: int) -> None:
        """Move the cursor to the first row (0) or the last (-1)."""
        self.move_cursor(len(self._keys) - 1 if row < 0 else row)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(int(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self._resized()
        self.call_after_refresh(self._scroll_to_cursor)  # once the new size is in place

    # -- drawing ----------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("virtual-table--header")
            return self._strip([Text(c.label) for c in self.columns], base + header, width)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, base)
        self.rows_rendered += 1
        style = base
        if row == self.cursor_row:
            style += self.get_component_rich_style("virtual-table--cursor")
        return self._strip(self._cells(self._keys[row]), style, width)

    def _strip(self, cells: Sequence[Text], style: Style, width: int) -> Strip:
        segments: list[Segment] = []
        used = 0
        last = len(self.columns) - 1
        for index, (column, cell) in enumerate(zip(self.columns, cells, strict=False)):
            size = max(0, width - used) if index == last else column.width
            if size <= 0:
                break
            text = set_cell_size(cell.plain.replace("\n", " "), size)
            cell_style = style + Style.parse(cell.style) if isinstance(cell.style, str) else style
            if isinstance(cell.style, Style):
                cell_style = style + cell.style
            segments.append(Segment(text, cell_style))
            used += size
            if index != last and used < width:
                segments.append(Segment(" ", style))
                used += 1
        return Strip(segments).adjust_cell_length(width, style)
