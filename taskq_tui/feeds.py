"""Loops run in the app's thread workers: following the event stream, feeding the demo."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable

from .controller import BrokerController
from .demo_feed import demo_message
from .event_buffer import EventInbox


def follow_events(
    controller: BrokerController, inbox: EventInbox, cancelled: Callable[[], bool]
) -> None:
    """Put the events the broker keeps into ``inbox``, then every live event, resubscribing
    after outages, until ``cancelled()``."""
    with contextlib.suppress(Exception):  # no history is not fatal; the poller says why
        for event in controller.recent_events():
            inbox.put(event)
    while not cancelled():
        try:
            stream = controller.subscribe()
        except Exception:
            time.sleep(1.0)
            continue
        try:
            while not cancelled():
                live = next(stream)
                if live is not None:
                    inbox.put(live)
        except Exception:
            time.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                stream.close()


def feed_demo(controller: BrokerController, cancelled: Callable[[], bool]) -> None:
    """Send a random demo message every ~0.6 s until ``cancelled()``."""
    rng = random.Random()
    while not cancelled():
        message, delay = demo_message(rng)
        with contextlib.suppress(Exception):  # the poller shows an outage banner
            controller.send_demo(message, delay)
        time.sleep(0.6)
