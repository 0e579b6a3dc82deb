"""The relay lingers after a partial batch (``RELAY_LINGER_S``), so that a steady trickle of
writes is published in fewer, larger batches; after a full batch it goes on at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

from shared.db import create_engine, session_factory
from shared.relay import OutboxRelay
from shared.testing import tally

LINGER_S = 1.5
"""Long beside what a loop turn takes, so the timings below hold on a loaded machine."""


def gaps(times: Sequence[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_the_relay_lingers_after_a_partial_batch_only(sqlite_url: str) -> None:
    settings = tally.settings_for(
        sqlite_url, "127.0.0.1:1", relay_batch_size=4, relay_linger_s=LINGER_S
    )
    engine = create_engine(sqlite_url)
    relay = OutboxRelay(settings=settings, sessions=session_factory(engine))
    stop = asyncio.Event()
    passes: list[float] = []
    published = iter([4, 6, 3, 0])  # full, more than a batch, partial, then nothing

    async def scripted_pass(_stop: asyncio.Event | None) -> int:
        passes.append(time.perf_counter())
        count = next(published)
        if count == 0:
            stop.set()
        return count

    relay._publish = scripted_pass  # type: ignore[method-assign,assignment]
    try:
        await asyncio.wait_for(relay.run(stop), timeout=30)
    finally:
        await engine.dispose()
    after_full, after_more, after_partial = gaps(passes)
    assert after_full < LINGER_S / 2, "a backlog drains at once"
    assert after_more < LINGER_S / 2, "a backlog drains at once"
    assert after_partial >= LINGER_S, "after a partial batch the relay lets rows gather"
