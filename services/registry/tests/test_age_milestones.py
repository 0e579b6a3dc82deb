"""The age-milestone job, called directly with dates on a migrated database (SQLite and
PostgreSQL): milestones due today, a catch-up after days of downtime that publishes each once,
dead residents and residents registered after the birthday left out, the age on state events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import area_service, households, residents
from registry.adapters.events import translate
from registry.adapters.people import HouseholdRow
from registry.domain.milestones import (
    DEFAULT_MILESTONES,
    birth_dates_reaching,
    birthday,
    scan_window,
)
from registry.domain.national_id import check_character
from registry.domain.people import NewResident, age_on
from registry.jobs import scan_age_milestones, schedule_age_milestones
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.runtime import ServiceRuntime
from shared.tables import OutboxRecord
from shared.unit_of_work import unit_of_work

TODAY = date(2026, 6, 1)
REGISTERED = date(2020, 1, 1)
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
        await households.register_household(
            uow, community_id="m1", address="x", registered_on=REGISTERED, today=REGISTERED
        )
    yield factory
    await engine.dispose()


_sequence = iter(range(1, 999))


async def the_household(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        household_id = await session.scalar(select(HouseholdRow.id))
    assert household_id is not None
    return household_id


async def resident_born(
    sessions: async_sessionmaker[AsyncSession], born: date, *, registered: date = REGISTERED
) -> str:
    """A registered resident born on ``born``, registered on ``registered``."""
    sequence = next(_sequence)
    first_17 = f"110105{born:%Y%m%d}{sequence:03d}"
    form = NewResident(
        national_id=first_17 + check_character(first_17),
        name="n",
        sex="male" if sequence % 2 else "female",
        birth_date=born,
        household_id=await the_household(sessions),
        registration="registered",
        permit_expires_on=None,
        employment_status="employed",
        disabled=False,
        flags=(),
    )
    async with unit_of_work(sessions, translate=translate) as uow:
        resident = await residents.register_resident(uow, pii=PII, form=form, today=registered)
        return resident.id


async def staged(sessions: async_sessionmaker[AsyncSession], name: str) -> list[dict[str, Any]]:
    """Payloads of the staged events of type ``….registry.resident.<name>.v1``, in order."""
    async with sessions() as session:
        query = select(OutboxRecord.payload).order_by(OutboxRecord.id)
        events = [json.loads(p) for p in (await session.scalars(query)).all()]
    return [e["data"] for e in events if e["type"].endswith(f".registry.resident.{name}.v1")]


async def run(sessions: async_sessionmaker[AsyncSession], today: date) -> int:
    return await scan_age_milestones(
        sessions, translate=translate, today=today, ages=DEFAULT_MILESTONES
    )


def reached(events: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(e["resident_id"], e["age"], e["reached_on"]) for e in events]


@pytest.mark.unit
def test_birthdays_and_windows_follow_completed_years() -> None:
    assert birthday(date(1966, 6, 1), 60) == date(2026, 6, 1)
    assert birthday(date(1964, 2, 29), 61) == date(2025, 3, 1)  # common year: 1 March
    assert birthday(date(1964, 2, 29), 60) == date(2024, 2, 29)
    for born in (date(1964, 2, 29), date(1965, 3, 1), date(1966, 6, 1)):
        for age in (16, 60, 61):
            day = birthday(born, age)
            assert age_on(born, day) == age
            assert age_on(born, day - timedelta(days=1)) == age - 1
            after, through = birth_dates_reaching(age, after=day - timedelta(days=1), through=day)
            assert after < born <= through
            after, through = birth_dates_reaching(age, after=day, through=day + timedelta(3))
            assert not after < born <= through
    assert scan_window(None, today=TODAY) == (TODAY - timedelta(days=1), TODAY)
    assert scan_window(TODAY - timedelta(days=3), today=TODAY) == (TODAY - timedelta(3), TODAY)
    assert scan_window(TODAY, today=TODAY) is None
    assert scan_window(TODAY + timedelta(days=1), today=TODAY) is None  # clock set back


@pytest.mark.integration
@pytest.mark.publishes
async def test_milestones_due_today_are_published_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sixty = await resident_born(sessions, date(1966, 6, 1))
    sixteen = await resident_born(sessions, date(2010, 6, 1))
    await resident_born(sessions, date(1966, 6, 2))  # 60 tomorrow
    await resident_born(sessions, date(1967, 6, 1))  # 59 today: no milestone
    dead = await resident_born(sessions, date(1956, 6, 1))  # would be 70 today
    async with unit_of_work(sessions, translate=translate) as uow:
        await residents.record_death(
            uow, resident_id=dead, died_on=TODAY - timedelta(1), today=TODAY
        )
    late = await resident_born(sessions, date(1961, 6, 1), registered=TODAY)  # 65, registered today

    assert await run(sessions, TODAY) == 2
    events = await staged(sessions, "age_reached")
    assert sorted(reached(events)) == sorted(
        [(sixty, 60, "2026-06-01"), (sixteen, 16, "2026-06-01")]
    )
    assert events[0]["community_id"] == "m1"
    assert events[0]["path"] == ["c1", "d1", "s1", "m1"]
    assert set(events[0]) == {"resident_id", "community_id", "path", "age", "reached_on"}
    assert await run(sessions, TODAY) == 0  # the same day again: nothing new
    registrations = {e["resident_id"]: e for e in await staged(sessions, "registered")}
    assert registrations[late]["age"] == 65  # the registration says the age instead
    assert registrations[sixty]["age"] == 53  # completed years on the registration day


@pytest.mark.integration
@pytest.mark.publishes
async def test_a_catch_up_after_three_days_down_publishes_each_milestone_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ninety = [await resident_born(sessions, date(1936, 6, day)) for day in (2, 3, 4)]
    leap = await resident_born(sessions, date(1964, 2, 29))
    dying = await resident_born(sessions, date(1976, 6, 3))  # 50 on 3 June, dies on 2 June
    assert await run(sessions, TODAY) == 0
    async with unit_of_work(sessions, translate=translate) as uow:
        await residents.record_death(
            uow, resident_id=dying, died_on=TODAY + timedelta(1), today=TODAY + timedelta(1)
        )

    back = TODAY + timedelta(days=3)  # down from day 1 to day 3; back on the 4th
    assert await run(sessions, back) == 3
    assert await run(sessions, back) == 0
    assert sorted(reached(await staged(sessions, "age_reached"))) == sorted(
        (resident, 90, f"2026-06-0{day}") for resident, day in zip(ninety, (2, 3, 4), strict=True)
    )
    # 29 February 1964: 62 is no milestone; 61 was on 1 March 2025; nothing published for it
    assert leap not in {e["resident_id"] for e in await staged(sessions, "age_reached")}
    # a run on an earlier day (clock set back) publishes nothing again
    assert await run(sessions, TODAY + timedelta(days=1)) == 0
    assert len(await staged(sessions, "age_reached")) == 3


@pytest.mark.integration
@pytest.mark.publishes
async def test_concurrent_runs_publish_each_milestone_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for day in range(1, 6):
        await resident_born(sessions, date(1966, 5, day))
    assert await run(sessions, date(2026, 4, 30)) == 0
    results = await asyncio.gather(
        *(run(sessions, date(2026, 5, 5)) for _ in range(3)), return_exceptions=True
    )
    published = [result for result in results if isinstance(result, int)]
    assert sum(published) == 5
    assert len(await staged(sessions, "age_reached")) == 5


@pytest.mark.integration
@pytest.mark.publishes
async def test_the_scheduled_job_runs_at_start_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await resident_born(sessions, date(1966, 6, 1))
    settings = Settings(
        environment="development",
        database_url=sessions.kw["bind"].url.render_as_string(hide_password=False),
        migrate_on_start=False,
        relay_enabled=False,
        consumer_enabled=False,
        age_milestones=[60],
        _env_file=None,  # type: ignore[call-arg]
    )
    runtime = ServiceRuntime.build(settings, translate=translate)
    schedule_age_milestones(runtime, settings, today=lambda: TODAY)
    await runtime.start()
    try:
        for _ in range(100):
            if await staged(sessions, "age_reached"):
                break
            await asyncio.sleep(0.05)
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=15)
    assert [e["age"] for e in await staged(sessions, "age_reached")] == [60]
