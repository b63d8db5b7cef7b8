"""Keystroke-to-redraw latency of the TUI's message search with 100,000 messages loaded.

Drives the real app headless (Textual's Pilot, 120x40): loads 100k synthetic messages, focuses
the search box with ``/`` and types a search one key at a time. Each sample is the time from
posting the key event to the app until the end of the first frame rendered after the table was
rebuilt (the input changed, the filter ran over the 100k messages, the table was refilled, the
frame composed). Pilot's ``press`` and ``pause`` also wait for the process to look idle
(sleeping in steps); that wait is not the app's latency, so it is left out of the samples.
Usage: python -m bench.tui_search [messages]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

TYPED = "order-4242"


async def measure(messages: int) -> list[float]:
    from textual import events
    from textual.widgets import Input

    from taskq.brokers.stub import StubBroker
    from taskq_tui.app import TaskqApp
    from taskq_tui.broker_link import BrokerLink
    from taskq_tui.config import TuiConfig
    from taskq_tui.synthetic import synthetic_events
    from taskq_tui.views.messages import MessagesView

    config = TuiConfig(broker_url="stub://", live=False)
    app = TaskqApp(config, BrokerLink(config.broker_url, broker=StubBroker()))
    samples: list[float] = []
    refilled: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.perf_counter()
        app.add_events(synthetic_events(messages))
        await pilot.pause()
        print(f"loaded {len(app.messages)} messages in {time.perf_counter() - started:.2f} s")
        view = app.query_one(MessagesView)
        screen = app.screen
        marks: dict[str, float] = {}
        frame = asyncio.Event()
        rebuild, refresh = view.rebuild, screen._compositor_refresh

        def timed_rebuild() -> None:
            rebuild()
            marks["rebuilt"] = time.perf_counter()

        def timed_refresh() -> None:
            refresh()
            if "rebuilt" in marks and "frame" not in marks:
                marks["frame"] = time.perf_counter()
                frame.set()

        table = view.table
        drawn_before = table.rows_rendered
        on_screen, held = table.size.height - 1, table.row_count
        view.rebuild = timed_rebuild  # type: ignore[method-assign]
        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        for _ in range(3):  # type the search, then erase it, three times
            await pilot.press("slash")
            search = app.query_one("#f-text", Input)
            for key in [*TYPED, *["backspace"] * len(TYPED)]:
                expected = search.value[:-1] if key == "backspace" else search.value + key
                marks.clear()
                frame.clear()
                t0 = time.perf_counter()
                app.post_message(events.Key(key, None if key == "backspace" else key))
                await asyncio.wait_for(frame.wait(), 10)
                assert search.value == expected and view.message_filter.text == expected.strip()
                samples.append((marks["frame"] - t0) * 1000)
                refilled.append((marks["rebuilt"] - t0) * 1000)
                await pilot.pause()
            await pilot.press("enter")
    print(
        f"table rows drawn per key: {(table.rows_rendered - drawn_before) / len(samples):.1f} "
        f"(the table holds {held} rows, {on_screen} on screen)"
    )
    print(
        f"key -> table refilled (filter over every message, rows replaced): median "
        f"{statistics.median(refilled):.1f} ms, max {max(refilled):.1f} ms"
    )
    return samples


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    samples = sorted(asyncio.run(measure(messages)))
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"key -> first frame after it (the redraw) with {messages} messages, {len(samples)} keys: "
        f"median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, max {samples[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
