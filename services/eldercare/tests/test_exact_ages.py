"""Exact ages from the registry's age milestones (DR-6): a resident joins the roster on their
60th birthday, entitlements fall due on the 65th, 70th and 90th birthdays, whatever order the
events arrive in (a milestone before the first state is held until it arrives); and a catch-up
across 90th birthdays proposes each subsidy once."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare import jobs, roster
from eldercare.adapters.events import translate
from eldercare.adapters.tables import ElderRow, EntitlementRow, HeldAgeRow
from eldercare.domain.roster import Elder, ElderEnrolled, ResidentFacts
from eldercare.rules import load_rules
from shared.ages import KnownAge
from shared.tables import OutboxRecord
from shared.unit_of_work import unit_of_work

RULES = load_rules()
PATH = ("c1", "d1", "s1", "m1")


def facts(
    number: int, born: int, *, age: int | None, on: date | None = None, version: int = 1
) -> ResidentFacts:
    """A resident state event's facts, its age ``age`` counted on ``on``."""
    return ResidentFacts(
        resident_id=f"r{number:04d}",
        community_id="m1",
        path=PATH,
        sex="female",
        birth_year=born,
        disabled=False,
        flags=frozenset(),
        version=version,
        known_age=None if age is None or on is None else KnownAge(age, on, exact=False),
    )


def milestone(age: int, birthday: date) -> KnownAge:
    return KnownAge(age, birthday, exact=True)


@pytest.mark.unit
def test_a_resident_joins_on_the_60th_birthday_the_milestone_tells() -> None:
    registered = date(2026, 3, 1)
    elder = Elder.first_seen(facts(1, 1966, age=59, on=registered), today=registered, threshold=60)
    assert elder.state.status == "younger"
    # the calendar year says 60 from 1 January; the known age says 59 until the birthday
    assert not elder.enrol_if_due(today=date(2026, 6, 30), threshold=60)
    assert elder.state.age(date(2026, 6, 30)) == 59
    birthday = date(2026, 7, 1)
    assert elder.learn_age(milestone(60, birthday), today=birthday, threshold=60)
    assert elder.state.status == "enrolled"
    assert elder.state.enrolled_on == birthday
    assert [type(e) for e in elder.events] == [ElderEnrolled]
    assert elder.events[0].age == 60
    assert elder.state.age(date(2031, 6, 30)) == 64  # exact from the milestone on
    assert elder.state.age(date(2031, 7, 1)) == 65
    assert elder.state.day_reached(65) == date(2031, 7, 1)
    assert elder.state.day_reached(90) == date(2056, 7, 1)


@pytest.mark.unit
def test_known_ages_do_not_depend_on_arrival_order() -> None:
    registered = date(2026, 3, 1)
    state_1 = facts(1, 1966, age=59, on=registered)
    moved = facts(1, 1966, age=60, on=date(2026, 8, 1), version=2)
    exact = milestone(60, date(2026, 7, 1))
    outcomes = []
    for order in ("state-first", "milestone-between", "move-first"):
        elder = Elder.first_seen(
            moved if order == "move-first" else state_1, today=registered, threshold=60
        )
        if order == "state-first":
            elder.apply(moved, today=date(2026, 8, 2), threshold=60)
            elder.learn_age(exact, today=date(2026, 8, 2), threshold=60)
        elif order == "milestone-between":
            elder.learn_age(exact, today=date(2026, 8, 2), threshold=60)
            elder.apply(moved, today=date(2026, 8, 2), threshold=60)
        else:
            elder.learn_age(exact, today=date(2026, 8, 2), threshold=60)
            elder.apply(state_1, today=date(2026, 8, 2), threshold=60)  # stale: ignored
        elder.learn_age(exact, today=date(2026, 8, 2), threshold=60)  # a duplicate
        outcomes.append(elder.state.known)
    assert outcomes == [exact, exact, exact]


@pytest.mark.unit
def test_a_resident_known_only_from_old_events_keeps_the_calendar_year_rule() -> None:
    elder = Elder.first_seen(facts(1, 1966, age=None), today=date(2025, 12, 1), threshold=60)
    assert elder.enrol_if_due(today=date(2026, 1, 2), threshold=60)
    assert elder.state.enrolled_on == date(2026, 1, 1)


async def announce(
    sessions: async_sessionmaker[AsyncSession], residents: list[ResidentFacts], today: date
) -> None:
    async with unit_of_work(sessions, translate=translate) as uow:
        for resident in residents:
            await roster.resident_changed(
                uow, facts=resident, change="state", today=today, threshold=60
            )


async def reach(
    sessions: async_sessionmaker[AsyncSession], reached: list[tuple[str, KnownAge]], today: date
) -> None:
    async with unit_of_work(sessions, translate=translate) as uow:
        for resident_id, known in reached:
            await roster.age_reached(
                uow, resident_id=resident_id, known=known, today=today, threshold=60
            )


async def events_of(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        types = await session.scalars(select(OutboxRecord.event_type))
        return Counter(event_type.split(".")[-2] for event_type in types)


@pytest.mark.integration
@pytest.mark.publishes
async def test_milestones_enrol_on_the_birthday_and_entitlements_fall_due_on_theirs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    registered = date(2020, 5, 10)
    # turning 60 on 1 to 10 July 2026, and 90 on the same days
    sixty = [facts(n, 1966, age=53, on=registered) for n in range(1, 11)]
    ninety = [facts(n, 1936, age=83, on=registered) for n in range(11, 21)]
    await announce(sessions, sixty + ninety, registered)
    first = await jobs.daily_round(
        sessions, translate=translate, rules=RULES, threshold=60, today=date(2026, 6, 30)
    )
    assert first.enrolled == 0  # the calendar year said 60 already; the known age says 59
    assert first.proposed == 10 * 3  # the over-70s: card, certificate, pension check

    # down from 1 July; back on 11 July: the registry's milestones of those days arrive
    back = date(2026, 7, 11)
    reached = [(f.resident_id, milestone(60, date(2026, 7, n))) for n, f in enumerate(sixty, 1)]
    reached += [(f.resident_id, milestone(90, date(2026, 7, n))) for n, f in enumerate(ninety, 1)]
    await reach(sessions, reached, back)
    await reach(sessions, reached, back)  # delivered twice: nothing more
    caught_up = await jobs.daily_round(
        sessions, translate=translate, rules=RULES, threshold=60, today=back
    )
    again = await jobs.daily_round(
        sessions, translate=translate, rules=RULES, threshold=60, today=back
    )
    assert (caught_up.enrolled, caught_up.proposed) == (0, 10)  # the milestones enrolled them
    assert (again.enrolled, again.proposed) == (0, 0)

    async with sessions() as session:
        elders = {row.resident_id: row for row in await session.scalars(select(ElderRow))}
        subsidies = list(
            await session.scalars(
                select(EntitlementRow).where(EntitlementRow.kind == "longevity_subsidy")
            )
        )
    for n, resident in enumerate(sixty, 1):
        row = elders[resident.resident_id]
        assert (row.status, row.enrolled_on) == ("enrolled", date(2026, 7, n))
        assert (row.known_age, row.known_age_exact) == (60, True)
    assert sorted((s.resident_id, s.due_on) for s in subsidies) == [
        (resident.resident_id, date(2026, 7, n)) for n, resident in enumerate(ninety, 1)
    ]
    assert {s.proposed_on for s in subsidies} == {back}
    published = await events_of(sessions)
    assert published["enrolled"] == 20
    assert published["due"] == 10 * 3 + 10


@pytest.mark.integration
@pytest.mark.publishes
async def test_a_milestone_before_the_first_state_is_held_until_it_arrives(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    birthday = date(2026, 7, 1)
    await reach(sessions, [("r0009", milestone(60, birthday))], birthday)
    async with sessions() as session:
        assert (await session.scalars(select(ElderRow))).first() is None
    assert not await events_of(sessions)
    # the registration (59 on a day in 2025) arrives after the milestone
    await announce(sessions, [facts(9, 1966, age=59, on=date(2025, 9, 1))], birthday)
    async with sessions() as session:
        row = await session.get(ElderRow, "r0009")
        assert row is not None
        assert (row.status, row.enrolled_on) == ("enrolled", birthday)
        assert (row.known_age, row.known_age_on, row.known_age_exact) == (60, birthday, True)
        assert (await session.scalars(select(HeldAgeRow))).first() is None
    assert (await events_of(sessions))["enrolled"] == 1


@pytest.mark.unit
def test_the_lower_bound_never_reaches_an_age_before_the_resident_does() -> None:
    born = date(1966, 7, 1)
    for told_on in (date(2020, 6, 30), date(2020, 7, 1), date(2021, 1, 15)):
        told = KnownAge(
            told_on.year - born.year - int(told_on < date(told_on.year, 7, 1)), told_on, False
        )
        day = told_on
        while day < date(2027, 1, 1):
            actual = day.year - born.year - int((day.month, day.day) < (7, 1))
            assert actual - 1 <= told.at(day) <= actual
            day += timedelta(days=17)
