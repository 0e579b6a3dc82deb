"""How a service process runs Python's cyclic garbage collector.

CPython runs a collection of its youngest generation every 700 container objects allocated
(net of those freed). A service allocates several per event or request (pydantic models,
rows, context tokens), so under load it collected every few events, and every tenth of those
collections also walked the older generation. Reference counting frees acyclic objects at
once either way; the collector only finds cycles. Measured with the consumer benchmark
(``bench/consumer_relay.py --part consumer --events 40000 --rounds 2``, 2026-11-30): with
the defaults 1.5-1.6 s of a 33 s run went to the collector and the runtime consumed 19,900-
23,500 events/s (two runs); tuned as here, 0.24-0.25 s and 26,000-27,200 events/s (two runs).

So a service process collects its youngest generation every :data:`YOUNG_THRESHOLD`
allocations; the older generations keep their default ratios. The cost is memory: at most that
many more objects wait for the collector, a few megabytes. ``gc.freeze()`` (no scan of what
start-up built) was measured too and brought less (0.95 s); it is not used, because a process
that starts services again and again (the tests) would never free what it froze.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (CPython's default: 700)."""


def tune_collector() -> None:
    """Set this process's youngest-generation threshold to :data:`YOUNG_THRESHOLD` (the
    older generations' thresholds are kept); idempotent."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)


__all__ = ["YOUNG_THRESHOLD", "tune_collector"]
