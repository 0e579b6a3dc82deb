"""Registry and eldercare as separate services joined only by Kafka: a resident the registry
has known since 2020 turns 60 today; the registry's age-milestone job publishes
``registry.resident.age_reached`` at start-up, and eldercare enrols the resident on the
birthday itself (the calendar-year rule would have said 1 January, and the age the
registration carried says 59 until today)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from eldercare.app import create_app as create_eldercare
from eldercare.settings import Settings as EldercareSettings
from registry import area_service, households, residents
from registry.adapters.events import translate
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.domain.people import NewResident, years_before
from registry.pii import PiiProtector
from registry.settings import Settings as RegistrySettings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.tables import OutboxRecord
from shared.testing.service import bearer, running_service
from shared.unit_of_work import unit_of_work

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]


async def seed_registry(settings: RegistrySettings, prefix: str, born: date) -> str:
    """Areas, a household and a resident registered in the registry's database on a day in
    2020 (the registry has known them since): the resident's id."""
    url = settings.resolved_database_url()
    await asyncio.to_thread(upgrade, "registry", url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    registered = born.replace(year=born.year + 54) + timedelta(days=1)  # after the 54th birthday
    first_17 = f"110105{born:%Y%m%d}004"  # even sequence: female
    try:
        async with unit_of_work(sessions, translate=translate) as uow:
            for area_id, level, parent in [
                (prefix, "city", None),
                (f"{prefix}d", "district", prefix),
                (f"{prefix}s", "street", f"{prefix}d"),
                (f"{prefix}m", "community", f"{prefix}s"),
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
            household = await households.register_household(
                uow,
                community_id=f"{prefix}m",
                address="1 Dongjie",
                registered_on=registered,
                today=registered,
            )
            resident = await residents.register_resident(
                uow,
                pii=PiiProtector.from_settings(settings),
                form=NewResident(
                    national_id=first_17 + check_character(first_17),
                    name="Zhao Min",
                    sex="female",
                    birth_date=born,
                    household_id=household.id,
                    registration="registered",
                    permit_expires_on=None,
                    employment_status="retired",
                    disabled=False,
                    flags=("empty_nest",),
                ),
                today=registered,
            )
        return resident.id
    finally:
        await engine.dispose()


async def test_a_resident_turning_60_today_joins_the_roster_on_the_birthday(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str
) -> None:
    today = date.today()
    born = years_before(today, 60)
    if (born.month, born.day) != (today.month, today.day):
        pytest.skip("no one born on 29 February turns 60 today")
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        age_milestones=[60, 65],
    )
    eldercare_settings = EldercareSettings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        daily_jobs_interval_s=0.5,
    )
    prefix = f"am{id(registry_settings) % 100000}"
    resident_id = await seed_registry(registry_settings, prefix, born)
    async with (
        running_service(create_registry, registry_settings),
        running_service(create_eldercare, eldercare_settings) as eldercare,
    ):
        reader = bearer(eldercare_settings, "eldercare:read")
        elder: dict[str, Any] = {}
        for _ in range(300):  # the first consumer-group join takes a few seconds
            found = await eldercare.get(f"/elders/{resident_id}", headers=reader)
            if found.status_code == 200 and found.json()["status"] == "enrolled":
                elder = found.json()
                break
            await asyncio.sleep(0.2)
        assert elder, "the resident never joined the roster"
        assert elder["enrolled_on"] == today.isoformat()
        assert elder["age"] == 60
        assert elder["empty_nest"] is True
        assert elder["path"] == [prefix, f"{prefix}d", f"{prefix}s", f"{prefix}m"]

    engine = create_engine(fresh_postgres_url)
    async with session_factory(engine)() as session:
        payloads = list(await session.scalars(select(OutboxRecord.payload)))
    await engine.dispose()
    milestones = [p for p in payloads if ".registry.resident.age_reached.v1" in p]
    assert len(milestones) == 1
    assert f'"reached_on":"{today.isoformat()}"' in milestones[0].replace(" ", "")
