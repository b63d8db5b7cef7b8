"""Search and filters over 100,000 messages: every keystroke redraws the table with the matches.

What a keystroke costs is asserted as work done, which does not depend on the machine: the frame
after it draws the table rows on screen and no more (whether 11 or 1,000 rows match among the
100,000), and the filter scans each message once. The time it takes is measured by
bench/tui_search.py (p95 in bench/RESULTS.md); a generous bound only catches a gross regression.
"""

from __future__ import annotations

import time

import pytest

from taskq.brokers.stub import StubBroker
from taskq_tui.app import TaskqApp
from taskq_tui.broker_link import BrokerLink
from taskq_tui.config import TuiConfig
from taskq_tui.message_index import MessageFilter
from taskq_tui.synthetic import synthetic_events
from taskq_tui.views.messages import MAX_ROWS

from .pilot_helpers import table_column, wait_until

pytestmark = pytest.mark.anyio

MESSAGES = 100_000


def offline_app() -> TaskqApp:
    config = TuiConfig(broker_url="stub://", live=False)
    return TaskqApp(config, BrokerLink(config.broker_url, broker=StubBroker()))


async def test_each_keystroke_redraws_the_matches_among_100000_messages() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.add_events(synthetic_events(MESSAGES))
        table = app.query_one("#message-table")
        await wait_until(pilot, lambda: table.has_focus and table.row_count == MAX_ROWS)
        assert len(app.messages) == MESSAGES
        on_screen = table.size.height - 1  # rows below the header
        await pilot.press("slash")
        typed = ""
        for key in "order-4242":
            drawn_before = table.rows_rendered
            started = time.perf_counter()
            await pilot.press("minus" if key == "-" else key)
            typed += key
            await pilot.pause()  # the redraw after this keystroke, nothing else waited for
            took = time.perf_counter() - started
            expected = app.messages.newest(MessageFilter(text=typed), MAX_ROWS)
            assert table.keys == [r.message_id for r in expected], typed
            assert all(typed in r.search for r in expected)
            # the rows on screen were drawn (once or twice: the frame and a cursor refresh),
            # never the other matches, nor the 100,000 messages
            assert 0 < table.rows_rendered - drawn_before <= 2 * on_screen, typed
            assert took < 2.0, f"{typed!r} took {took:.2f} s"  # ~0.02-0.1 s on a busy laptop
        # order-4242 and order-42420 ... order-42429, oldest first
        args = table_column(app, "#message-table", 4)
        assert args == ['["order-4242"]'] + [f'["order-4242{d}"]' for d in range(10)]
        assert "11 shown / 100000 messages" in str(app.query_one("#tail-count").render())

        await pilot.press("enter")  # back to the table; then filter by status as well
        assert table.has_focus
        app.query_one("#f-status").value = "failed"
        await pilot.pause()
        assert table_column(app, "#message-table", 4) == ['["order-42426"]']  # i % 7 == 6
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert table.row_count == MAX_ROWS
