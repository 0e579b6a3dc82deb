"""Outbox and relay rules on SQLite, without a broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import metrics
from shared.contracts import CloudEvent
from shared.db import create_engine, session_factory, transaction
from shared.outbox import COPY_FROM_ROWS, add, add_many
from shared.relay import OutboxRelay, _published_prefixes
from shared.tables import OutboxRecord
from shared.testing import tally


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await tally.create_schema(engine)
    yield engine
    await engine.dispose()


async def test_event_and_change_commit_together_or_not_at_all(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError):  # noqa: PT012 - the failure is inside the unit of work
        async with transaction(sessions) as session:
            await tally.record(session, key="a", seq=0)
            raise RuntimeError("the use case failed after staging its event")
    assert await tally.unpublished(engine) == 0
    async with transaction(sessions) as session:
        await tally.record(session, key="a", seq=1)
    assert await tally.unpublished(engine) == 1


async def test_outbox_refuses_data_its_contract_would_reject(engine: AsyncEngine) -> None:
    good = tally.TALLY.new_event(tally.TallyRecorded(key="a", seq=1), aggregate_id="a")
    bad = CloudEvent(**{**good.model_dump(), "data": {"key": "a"}})
    async with transaction(session_factory(engine)) as session:
        with pytest.raises(ValueError, match="seq"):
            add(session, bad, contracts=tally.TALLY)


async def test_only_one_relay_leads_until_its_lease_lapses(engine: AsyncEngine) -> None:
    settings = tally.settings_for("unused", "127.0.0.1:1", relay_lease_ttl_s=0.5)
    sessions = session_factory(engine)
    first = OutboxRelay(settings=settings, sessions=sessions, instance_id="first")
    second = OutboxRelay(settings=settings, sessions=sessions, instance_id="second")
    assert await first.hold_lease()
    assert not await second.hold_lease()
    await asyncio.sleep(0.6)  # first stops renewing (it died)
    assert await second.hold_lease()
    assert not await first.hold_lease()


async def test_stopping_relay_hands_over_at_once(engine: AsyncEngine) -> None:
    settings = tally.settings_for("unused", "127.0.0.1:1", relay_lease_ttl_s=60)
    sessions = session_factory(engine)
    first = OutboxRelay(settings=settings, sessions=sessions, instance_id="first")
    second = OutboxRelay(settings=settings, sessions=sessions, instance_id="second")
    stop = asyncio.Event()
    stop.set()
    assert await first.hold_lease()
    await first.run(stop)  # returns at once and releases its lease
    assert await second.hold_lease()


async def test_backlog_gauges_follow_the_outbox(engine: AsyncEngine) -> None:
    settings = tally.settings_for("unused", "127.0.0.1:1")
    sessions = session_factory(engine)
    for seq in range(3):
        async with transaction(sessions) as session:
            await tally.record(session, key="g", seq=seq)
    relay = OutboxRelay(settings=settings, sessions=sessions)
    await relay._housekeeping()
    assert metrics.OUTBOX_BACKLOG.labels(service="tally")._value.get() == 3
    assert metrics.OUTBOX_OLDEST_AGE.labels(service="tally")._value.get() >= 0


def _row(row_id: int, key: str) -> OutboxRecord:
    return OutboxRecord(
        id=row_id,
        event_id=str(row_id),
        event_type="t",
        topic="x.y.events",
        partition_key=key,
        payload="{}",
        created_at=datetime.now(UTC),
    )


def test_a_failure_holds_back_the_rest_of_its_aggregate_only() -> None:
    rows = [_row(1, "a"), _row(2, "b"), _row(3, "a"), _row(4, "b"), _row(5, "a")]
    outcomes: list[BaseException | None] = [None, TimeoutError(), None, None, None]
    published, failed = _published_prefixes(rows, outcomes)
    assert [r.id for r in published] == [1, 3, 5]
    assert [r.id for r in failed] == [2, 4]  # 4 was acknowledged but must follow 2


@pytest.mark.parametrize("count", [5, COPY_FROM_ROWS + 3])  # one INSERT; COPY on PostgreSQL
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
async def test_add_many_stages_events_in_order_on_both_databases(
    backend: str, count: int, sqlite_url: str, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    await tally.create_schema(engine)
    events = [
        tally.TALLY.new_event(tally.TallyRecorded(key="bulk", seq=seq), aggregate_id="bulk")
        for seq in range(count)
    ]
    async with transaction(session_factory(engine)) as session:
        await add_many(session, events, contracts=tally.TALLY)
    async with session_factory(engine)() as session:
        stored = list(await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))
    await engine.dispose()
    assert [row.event_id for row in stored] == [event.id for event in events]
    assert {row.topic for row in stored} == {"tally.counter.events"}
    assert all(row.published_at is None and row.attempts == 0 for row in stored)
