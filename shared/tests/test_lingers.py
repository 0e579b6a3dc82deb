"""The relay and the consumers linger after a partial batch (``RELAY_LINGER_S``,
``CONSUMER_LINGER_S``), so that a steady trickle of events goes in fewer, larger batches; after
a full batch they go on at once, and an empty poll waits as before."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

from shared.consumer import EventConsumer, Subscription
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


async def test_a_consumer_lingers_after_a_partial_poll_only(sqlite_url: str) -> None:
    settings = tally.settings_for(sqlite_url, "127.0.0.1:1", consumer_linger_s=LINGER_S)
    engine = create_engine(sqlite_url)

    async def ignore(*_: object) -> None:
        """Never called: the polls below are scripted."""

    consumer = EventConsumer(
        settings=settings,
        sessions=session_factory(engine),
        subscription=Subscription(
            event_types=frozenset({tally.TALLY.for_payload(tally.TallyRecorded).type}),
            handle=ignore,
        ),
        contracts=tally.TALLY,
        group_id="lingers",
    )
    stop = asyncio.Event()
    polls: list[float] = []
    records = iter([consumer.max_batch, 0, 3, 1])  # full, empty, partial, partial

    async def scripted_poll(timeout_ms: int = 1000) -> int:
        polls.append(time.perf_counter())
        count = next(records)
        if len(polls) == 4:
            stop.set()
        return count

    async def started() -> None:
        """No broker: the polls are scripted."""

    consumer._start = started  # type: ignore[method-assign]
    consumer.poll_once = scripted_poll  # type: ignore[method-assign]
    try:
        await asyncio.wait_for(consumer.run(stop), timeout=30)
    finally:
        await engine.dispose()
    after_full, after_empty, after_partial = gaps(polls)
    assert after_full < LINGER_S / 2, "a full batch: more is waiting, poll again at once"
    assert after_empty < LINGER_S / 2, "an empty poll already waited in the broker"
    assert after_partial >= LINGER_S, "after a partial poll the consumer lets records gather"
