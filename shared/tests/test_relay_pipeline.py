"""The relay's pipelined pass, with a producer that acknowledges (or fails) what it is given:
order, marks only behind acknowledged predecessors, the ``on_sent`` hook, periodic gauges."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import metrics
from shared.db import create_engine, session_factory, transaction
from shared.outbox import add_many
from shared.relay import MARK_ATTEMPTS, OutboxRelay, OutboxRow
from shared.tables import OutboxRecord
from shared.testing import tally


class Acknowledger:
    """Stands in for the producer: records what is sent, acknowledges it on the next loop
    turns, or fails the records whose event ids are in ``failing``."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.failing: set[str] = set()

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        event_id = dict(headers)["ce_id"].decode()
        self.sent.append(event_id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if event_id in self.failing:
            asyncio.get_running_loop().call_later(
                0.001, future.set_exception, TimeoutError("not acknowledged")
            )
        else:
            asyncio.get_running_loop().call_later(0.001, future.set_result, None)
        return future

    async def stop(self) -> None:
        """Nothing to close."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def engine(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    await tally.create_schema(engine)
    yield engine
    await engine.dispose()


async def stage(engine: AsyncEngine, keys: Sequence[str], rounds: int) -> list[str]:
    """``rounds`` events per key, interleaved (a0 b0 … a1 b1 …); their ids in outbox order."""
    events = [
        tally.TALLY.new_event(tally.TallyRecorded(key=key, seq=seq), aggregate_id=key)
        for seq in range(rounds)
        for key in keys
    ]
    async with transaction(session_factory(engine)) as session:
        await add_many(session, events, contracts=tally.TALLY)
    return [event.id for event in events]


def relay_for(engine: AsyncEngine, **hooks: Any) -> tuple[OutboxRelay, Acknowledger]:
    settings = tally.settings_for("unused", "127.0.0.1:1", relay_batch_size=4)
    relay = OutboxRelay(settings=settings, sessions=session_factory(engine), **hooks)
    producer = Acknowledger()
    relay._producer = producer  # type: ignore[assignment]
    return relay, producer


async def published(engine: AsyncEngine) -> dict[str, tuple[bool, int]]:
    """Per event id: whether it is marked published, and its attempts."""
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(OutboxRecord.event_id, OutboxRecord.published_at, OutboxRecord.attempts)
        )
        return {r[0]: (r[1] is not None, r[2]) for r in rows}


async def test_a_backlog_goes_out_in_outbox_order_with_gauges_refreshed_once(
    engine: AsyncEngine,
) -> None:
    ids = await stage(engine, ["a", "b", "c"], rounds=10)  # 30 rows: 7 full batches, then 2
    relay, producer = relay_for(engine)
    refreshes: list[int] = []
    refresh = relay._housekeeping

    async def counted() -> None:
        refreshes.append(1)
        await refresh()

    relay._housekeeping = counted  # type: ignore[method-assign]
    assert await relay._publish(asyncio.Event()) == 30
    assert producer.sent == ids
    assert set((await published(engine)).values()) == {(True, 1)}
    assert len(refreshes) == 1, "the backlog is counted once, not per batch"
    assert await relay._publish(asyncio.Event()) == 0
    assert metrics.OUTBOX_BACKLOG.labels(service="tally")._value.get() == 0


async def test_a_failure_keeps_later_rows_of_its_aggregate_unmarked_across_batches(
    engine: AsyncEngine,
) -> None:
    ids = await stage(engine, ["a", "b", "c", "d"], rounds=3)  # batches: a0-d0, a1-d1, a2-d2
    relay, producer = relay_for(engine)
    producer.failing = {ids[0]}  # a0
    with pytest.raises(RuntimeError, match="2 events not published") as failure:
        await relay._publish(asyncio.Event())
    assert isinstance(failure.value.__cause__, TimeoutError)
    assert producer.sent == ids[:8], "the second batch was sent before the first was settled"
    state = await published(engine)
    assert [state[i] for i in ids[:8]] == [
        (False, 1),  # a0 failed
        (True, 1),
        (True, 1),
        (True, 1),
        (False, 1),  # a1 was acknowledged, but a0 before it was not
        (True, 1),
        (True, 1),
        (True, 1),
    ]
    assert [state[i] for i in ids[8:]] == [(False, 0)] * 4, "the batch read ahead waits"

    producer.failing = set()
    producer.sent.clear()
    assert await relay._publish(asyncio.Event()) == 6
    assert producer.sent == [ids[0], ids[4], ids[8], ids[9], ids[10], ids[11]]
    assert all(done for done, _ in (await published(engine)).values())


async def test_on_sent_runs_after_each_batch_is_acknowledged_and_before_it_is_marked(
    engine: AsyncEngine,
) -> None:
    ids = await stage(engine, ["a", "b"], rounds=5)  # 10 rows: batches of 4, 4, 2
    seen: list[tuple[list[str], set[bool]]] = []

    async def on_sent(rows: Sequence[OutboxRow]) -> None:
        state = await published(engine)
        seen.append(([row.event_id for row in rows], {state[row.event_id][0] for row in rows}))

    relay, _ = relay_for(engine, on_sent=on_sent)
    assert await relay._publish(asyncio.Event()) == 10
    assert seen == [(ids[0:4], {False}), (ids[4:8], {False}), (ids[8:10], {False})]


async def test_publish_batch_publishes_one_batch(engine: AsyncEngine) -> None:
    ids = await stage(engine, ["a", "b"], rounds=3)
    relay, producer = relay_for(engine)
    assert await relay.publish_batch() == 4
    assert producer.sent == ids[:4]
    state = await published(engine)
    assert [state[i][0] for i in ids] == [True] * 4 + [False] * 2


async def test_acknowledged_rows_whose_mark_is_refused_are_never_sent_again(
    engine: AsyncEngine,
) -> None:
    """The database refuses every mark of one pass (SQLite's "database is locked" under an
    import): the acknowledged rows wait in memory and are marked, not re-sent, next pass."""
    ids = await stage(engine, ["a", "b"], rounds=2)  # 4 rows, one batch
    relay, producer = relay_for(engine)
    write_marks = relay._write_marks
    refusals: list[int] = []

    async def locked(*args: Any) -> None:
        refusals.append(1)
        raise OperationalError("UPDATE outbox", {}, sqlite3.OperationalError("database is locked"))

    relay._write_marks = locked  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        await relay._publish(asyncio.Event())
    assert len(refusals) == MARK_ATTEMPTS, "a refused mark is retried before giving up"
    assert producer.sent == ids
    assert set((await published(engine)).values()) == {(False, 0)}

    relay._write_marks = write_marks  # type: ignore[method-assign]
    assert await relay._publish(asyncio.Event()) == 4
    assert producer.sent == ids, "nothing was sent twice"
    assert set((await published(engine)).values()) == {(True, 1)}


async def test_a_mark_refused_once_is_retried_within_the_pass(engine: AsyncEngine) -> None:
    ids = await stage(engine, ["a"], rounds=3)
    relay, producer = relay_for(engine)
    write_marks = relay._write_marks
    refused: list[int] = []

    async def locked_once(*args: Any) -> None:
        if not refused:
            refused.append(1)
            raise OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))
        await write_marks(*args)

    relay._write_marks = locked_once  # type: ignore[method-assign]
    assert await relay._publish(asyncio.Event()) == 3
    assert producer.sent == ids
    assert set((await published(engine)).values()) == {(True, 1)}
