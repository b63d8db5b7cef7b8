"""The actors that the Node.js and shell producers in this folder enqueue messages for.

Run a worker for them with::

    taskq worker actors --path examples/other_languages --broker redis://127.0.0.1:6379/0
"""

import taskq


@taskq.actor
def add(x: int, y: int) -> int:
    print(f"add({x}, {y}) = {x + y}", flush=True)
    return x + y
