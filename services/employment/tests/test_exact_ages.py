"""The "4050" group on exact ages (DR-6): a man joins it on his 50th birthday, the day the
registry's age milestone says so (not on 1 January of that year), whatever order the events
arrive in; his seeker publishes ``seeker.updated`` in the same transaction."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import select

from employment import registry_facts
from employment.adapters import store
from employment.adapters.events import translate
from employment.adapters.tables import HeldAgeRow, ResidentRow
from employment.domain.groups import ResidentFacts, derive_groups
from employment.domain.seekers import Preferences, Seeker
from shared.ages import KnownAge
from shared.contracts.registry import ResidentAgeReached, ResidentRegistered
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.tables import OutboxRecord
from shared.unit_of_work import unit_of_work

PATH = ["c", "d", "s", "m"]
BIRTHDAY = date(2026, 7, 1)


def man(known: KnownAge | None, **changes: object) -> ResidentFacts:
    facts: dict[str, object] = {
        "resident_id": "r-1",
        "community_id": "m",
        "path": tuple(PATH),
        "sex": "male",
        "birth_year": 1976,
        "employment_status": "laid_off",
        "disabled": False,
        "registration": "registered",
        "flags": (),
        "known_age": known,
    }
    facts.update(changes)
    return ResidentFacts(**facts)  # type: ignore[arg-type]


@pytest.mark.unit
def test_the_4050_group_follows_exact_ages() -> None:
    before = man(KnownAge(49, date(2026, 3, 1), exact=False))
    # the calendar year says 50 since 1 January; the registry's ages say 49 until 1 July
    assert derive_groups(before, on=date(2026, 6, 30)) == {"laid_off"}
    fifty = man(KnownAge(50, BIRTHDAY, exact=True))
    assert derive_groups(fifty, on=BIRTHDAY) == {"laid_off", "age_4050"}
    sixty = man(KnownAge(60, date(2036, 7, 1), exact=True))
    assert derive_groups(sixty, on=date(2036, 7, 1)) == {"laid_off"}
    woman = man(KnownAge(40, BIRTHDAY, exact=True), sex="female", employment_status="unemployed")
    assert derive_groups(woman, on=BIRTHDAY) == {"age_4050"}
    old_events = man(None)  # known only from events older than the age field
    assert derive_groups(old_events, on=date(2026, 1, 1)) == {"laid_off", "age_4050"}


def registered(age: int, on: date) -> ResidentRegistered:
    return ResidentRegistered(
        resident_id="r-1",
        household_id="h-1",
        community_id="m",
        path=PATH,
        sex="male",
        birth_year=1976,
        age_band="40-49",
        age=age,
        age_on=on,
        registration="registered",
        employment_status="laid_off",
        disabled=False,
        flags=[],
        version=1,
    )


@pytest.mark.integration
@pytest.mark.publishes
async def test_the_50th_birthday_milestone_moves_the_seeker_into_4050(
    fresh_postgres_url: str,
) -> None:
    await asyncio.to_thread(upgrade, "employment", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    sessions = session_factory(engine)
    march = date(2026, 3, 1)
    try:
        async with unit_of_work(sessions, translate=translate) as uow:
            await registry_facts.apply_resident(uow, payload=registered(49, march), today=march)
            row = await uow.session.get(ResidentRow, "r-1")
            assert row is not None
            seeker = Seeker.register(
                seeker_id="s-1",
                resident=store.resident_facts(row),
                recorded_groups=frozenset(),
                skills=["catering.cook"],
                education="senior_middle",
                preferences=Preferences(frozenset({"full_time"}), 44, None, (), ()),
                today=march,
            )
            uow.track(seeker)
            await store.save_seeker(uow.session, seeker)
        assert seeker.state.derived_groups == {"laid_off"}

        milestone = ResidentAgeReached(
            resident_id="r-1", community_id="m", path=PATH, age=50, reached_on=BIRTHDAY
        )
        for _ in range(2):  # delivered twice: the second changes nothing
            async with unit_of_work(sessions, translate=translate) as uow:
                await registry_facts.apply_age(uow, payload=milestone, today=BIRTHDAY)
        async with unit_of_work(sessions, translate=translate) as uow:  # the old state, late
            await registry_facts.apply_resident(uow, payload=registered(49, march), today=BIRTHDAY)

        async with sessions() as session:
            row = await session.get(ResidentRow, "r-1")
            assert row is not None
            assert (row.known_age, row.known_age_on, row.known_age_exact) == (50, BIRTHDAY, True)
            found = await store.seeker_of_resident(session, "r-1")
            assert found is not None
            assert found.state.derived_groups == {"laid_off", "age_4050"}
            payloads = [
                json.loads(p)
                for p in await session.scalars(
                    select(OutboxRecord.payload).order_by(OutboxRecord.id)
                )
            ]
        updated = [p["data"] for p in payloads if p["type"].endswith(".seeker.updated.v1")]
        assert len(updated) == 1

        # a milestone of a resident not announced yet is held until the registration arrives
        early = milestone.model_copy(update={"resident_id": "r-2"})
        async with unit_of_work(sessions, translate=translate) as uow:
            await registry_facts.apply_age(uow, payload=early, today=BIRTHDAY)
        late = registered(49, march).model_copy(update={"resident_id": "r-2"})
        async with unit_of_work(sessions, translate=translate) as uow:
            await registry_facts.apply_resident(uow, payload=late, today=BIRTHDAY)
        async with sessions() as session:
            row = await session.get(ResidentRow, "r-2")
            assert row is not None
            assert (row.known_age, row.known_age_on, row.known_age_exact) == (50, BIRTHDAY, True)
            assert await session.get(HeldAgeRow, "r-2") is None
    finally:
        await engine.dispose()
