"""The permit-expiry scan and the household moves area merges and splits use, called directly
with dates on a migrated database (SQLite and PostgreSQL), each in a unit of work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import area_service, households, residents
from registry.adapters.events import translate
from registry.adapters.people import PeopleStore, ResidentRow
from registry.domain.national_id import check_character
from registry.domain.people import NewResident
from registry.jobs import scan_permits, schedule_permit_scans
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.errors import Conflict, InvalidInput
from shared.migrations import upgrade
from shared.runtime import ServiceRuntime
from shared.tables import OutboxRecord
from shared.unit_of_work import UnitOfWork, unit_of_work

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

TODAY = date(2026, 6, 1)
PII = PiiProtector.from_settings(Settings(environment="development", _env_file=None))  # type: ignore[call-arg]


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    await asyncio.to_thread(upgrade, "registry", url)
    engine = create_engine(url)
    factory = session_factory(engine)
    async with unit_of_work(factory, translate=translate) as uow:
        for area_id, level, parent in [
            ("c1", "city", None),
            ("d1", "district", "c1"),
            ("s1", "street", "d1"),
            ("m1", "community", "s1"),
            ("m2", "community", "s1"),
        ]:
            await area_service.register_area(
                uow,
                area_id=area_id,
                level=level,  # type: ignore[arg-type]
                name=area_id,
                parent_id=parent,
                valid_from=date(2005, 1, 1),
            )
            await uow.flush()
    yield factory
    await engine.dispose()


async def new_household(sessions: async_sessionmaker[AsyncSession], community: str) -> str:
    async with unit_of_work(sessions, translate=translate) as uow:
        household = await households.register_household(
            uow,
            community_id=community,
            address="x",
            registered_on=date(2020, 1, 1),
            today=TODAY,
        )
        return household.id


async def new_resident(
    sessions: async_sessionmaker[AsyncSession],
    household_id: str,
    sequence: int,
    *,
    permit: date | None = None,
) -> str:
    born = date(1980, 1, 1)
    first_17 = f"110105{born:%Y%m%d}{sequence:03d}"
    form = NewResident(
        national_id=first_17 + check_character(first_17),
        name="n",
        sex="male" if sequence % 2 else "female",
        birth_date=born,
        household_id=household_id,
        registration="floating" if permit else "registered",
        permit_expires_on=permit,
        employment_status="employed",
        disabled=False,
        flags=(),
    )
    async with unit_of_work(sessions, translate=translate) as uow:
        resident = await residents.register_resident(uow, pii=PII, form=form, today=TODAY)
        return resident.id


async def staged(sessions: async_sessionmaker[AsyncSession], name: str) -> list[dict[str, Any]]:
    """Payloads of the staged events whose type contains ``name``, in outbox order."""
    async with sessions() as session:
        query = select(OutboxRecord.payload).order_by(OutboxRecord.id)
        events = [json.loads(p) for p in (await session.scalars(query)).all()]
    return [event["data"] for event in events if f".{name}." in event["type"]]


async def scan(sessions: async_sessionmaker[AsyncSession], today: date) -> int:
    return await scan_permits(sessions, translate=translate, today=today)


async def test_a_permit_expiring_within_30_days_warns_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    home = await new_household(sessions, "m1")
    soon = await new_resident(sessions, home, 1, permit=TODAY + timedelta(days=10))
    edge = await new_resident(sessions, home, 3, permit=TODAY + timedelta(days=30))
    later = await new_resident(sessions, home, 5, permit=TODAY + timedelta(days=31))
    await new_resident(sessions, home, 7, permit=TODAY - timedelta(days=1))  # already expired
    await new_resident(sessions, home, 9)  # registered: no permit
    dead = await new_resident(sessions, home, 11, permit=TODAY + timedelta(days=5))
    async with unit_of_work(sessions, translate=translate) as uow:
        await residents.record_death(uow, resident_id=dead, died_on=TODAY, today=TODAY)

    assert await scan(sessions, TODAY) == 2
    warnings = await staged(sessions, "permit_expiring")
    assert sorted((w["resident_id"], w["expires_on"]) for w in warnings) == sorted(
        [(soon, str(TODAY + timedelta(days=10))), (edge, str(TODAY + timedelta(days=30)))]
    )
    assert warnings[0]["path"] == ["c1", "d1", "s1", "m1"]
    assert warnings[0]["community_id"] == "m1"
    assert await scan(sessions, TODAY) == 0
    assert await scan(sessions, TODAY + timedelta(days=1)) == 1  # ``later`` enters the window
    assert (await staged(sessions, "permit_expiring"))[-1]["resident_id"] == later

    async with unit_of_work(sessions, translate=translate) as uow:  # renewed: may warn again
        await residents.update_resident(
            uow, resident_id=soon, permit_expires_on=TODAY + timedelta(days=20), today=TODAY
        )
    assert await scan(sessions, TODAY + timedelta(days=1)) == 1
    assert len(await staged(sessions, "permit_expiring")) == 4
    async with sessions() as session:
        row = await session.get(ResidentRow, soon)
        assert row is not None
        assert row.permit_warned_for == TODAY + timedelta(days=20)


async def test_the_scheduled_scan_runs_at_start_up_until_the_service_stops(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    home = await new_household(sessions, "m1")
    await new_resident(sessions, home, 1, permit=TODAY + timedelta(days=3))
    settings = Settings(
        environment="development",
        database_url=sessions.kw["bind"].url.render_as_string(hide_password=False),
        migrate_on_start=False,
        relay_enabled=False,
        consumer_enabled=False,
        permit_scan_interval_s=3600,
        _env_file=None,  # type: ignore[call-arg]
    )
    runtime = ServiceRuntime.build(settings, translate=translate)
    schedule_permit_scans(runtime, settings, today=lambda: TODAY)
    await runtime.start()
    try:
        for _ in range(100):
            if await staged(sessions, "permit_expiring"):
                break
            await asyncio.sleep(0.05)
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=15)
    assert len(await staged(sessions, "permit_expiring")) == 1


async def move_households(
    sessions: async_sessionmaker[AsyncSession],
    household_ids: list[str] | None,
    from_community_id: str,
    to_community_id: str,
) -> int:
    async with unit_of_work(sessions, translate=translate) as uow:
        return await households.move_households(
            uow,
            household_ids=household_ids,
            from_community_id=from_community_id,
            to_community_id=to_community_id,
            moved_on=TODAY,
            reason="area_merge" if household_ids is None else "area_split",
        )


async def test_move_households_moves_members_with_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await new_household(sessions, "m1"), await new_household(sessions, "m1")
    elsewhere = await new_household(sessions, "m2")
    alive = await new_resident(sessions, first, 1)
    dead = await new_resident(sessions, first, 3)
    lodger = await new_resident(sessions, second, 5)
    async with unit_of_work(sessions, translate=translate) as uow:
        await residents.record_death(uow, resident_id=dead, died_on=TODAY, today=TODAY)
    async with sessions() as session:
        await session.execute(delete(OutboxRecord))
        await session.commit()

    assert await move_households(sessions, None, "m1", "m2") == 2
    households_moved = await staged(sessions, "household")
    assert sorted(
        (h["household_id"], h["resident_count"], h["version"]) for h in households_moved
    ) == (sorted([(first, 1, 2), (second, 1, 2)]))
    assert {h["reason"] for h in households_moved} == {"area_merge"}
    assert {h["to_path"][-1] for h in households_moved} == {"m2"}
    residents_moved = await staged(sessions, "resident")
    assert sorted(r["resident_id"] for r in residents_moved) == sorted([alive, lodger])
    assert {(r["from_community_id"], r["community_id"], r["version"]) for r in residents_moved} == {
        ("m1", "m2", 2)
    }
    async with sessions() as session:  # each household's move, then its members'
        query = select(OutboxRecord.partition_key).order_by(OutboxRecord.id)
        order = list((await session.scalars(query)).all())
    for household_id, member in ((first, alive), (second, lodger)):
        assert order.index(member) == order.index(household_id) + 1
    async with sessions() as session:
        ids = await households.household_ids_in_community(session, community_id="m2")
    assert sorted(ids) == sorted([first, second, elsewhere])

    assert await move_households(sessions, [first], "m2", "m1") == 1
    for household_ids, target, field in (
        ([first, "nope"], "m2", "household_ids"),
        (None, "no-such-community", "to_community_id"),
    ):
        with pytest.raises(InvalidInput) as raised:
            await move_households(sessions, household_ids, "m1", target)
        assert raised.value.errors[0].field == field


async def test_concurrent_changes_of_one_resident_conflict(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions (BEGIN IMMEDIATE)")
    person = await new_resident(sessions, await new_household(sessions, "m1"), 1)
    async with sessions() as first, sessions() as second:
        await first.begin()
        await second.begin()
        stores = [PeopleStore(session) for session in (first, second)]  # they hold the rows
        read = [await store.resident(person) for store in stores]  # both read version 1
        assert [resident.version for resident in read if resident] == [1, 1]
        first_unit = UnitOfWork(first, translate=translate)
        await residents.update_resident(first_unit, resident_id=person, disabled=True, today=TODAY)
        await first_unit.publish_collected()
        await first.commit()
        with pytest.raises(Conflict):
            await residents.update_resident(
                UnitOfWork(second, translate=translate),
                resident_id=person,
                employment_status="retired",
                today=TODAY,
            )
        await second.rollback()
    assert [e["version"] for e in await staged(sessions, "resident")] == [1, 2]
