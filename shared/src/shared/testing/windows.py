"""Keep a rate-limit test's burst inside one counting window.

The ``limits`` library counts in windows that start at whole multiples of the period since
the epoch. Its sliding-window counter weighs the previous window's hits down as the new
window goes on, so just after a window starts it lets in one request more than an exact
count would. A test that asserts "the sixth of five is refused" must therefore not straddle
a window's edge; it waits for a fresh window when too little of the current one is left.
"""

from __future__ import annotations

import time

MARGIN_S = 0.05
"""Past the edge, so the wait ends inside the new window."""


def seconds_until_room(
    period_s: float = 60.0, room_s: float = 5.0, *, now: float | None = None
) -> float:
    """Seconds to wait from ``now`` (the clock's epoch seconds by default) so that the next
    ``room_s`` seconds fall inside one window of ``period_s``: 0 when they already do."""
    left = period_s - (time.time() if now is None else now) % period_s
    return 0.0 if left >= room_s else left + MARGIN_S


__all__ = ["seconds_until_room"]
