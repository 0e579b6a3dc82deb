"""The roster and the daily round on PostgreSQL: residents reaching an age while the service
was down get every due entitlement proposed once, never twice; subsidies are paid once per
month; a death closes open care and cancels open orders."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare import areas, entitlements, jobs, orders, placements, roster
from eldercare.adapters.events import translate
from eldercare.adapters.tables import EntitlementRow, PaymentRow
from eldercare.domain.roster import ResidentFacts
from eldercare.rules import load_rules
from shared.auth import Principal
from shared.contracts.registry import AreaCreated
from shared.tables import OutboxRecord
from shared.unit_of_work import unit_of_work

pytestmark = pytest.mark.integration

RULES = load_rules()
STAFF = Principal(subject="clerk", scopes=frozenset())
PATH = ("c1", "d1", "s1", "m1")


def facts(number: int, born: int, version: int = 1) -> ResidentFacts:
    return ResidentFacts(
        resident_id=f"r{number:04d}",
        community_id="m1",
        path=PATH,
        sex="female" if number % 2 else "male",
        birth_year=born,
        disabled=False,
        flags=frozenset({"living_alone"}) if number % 3 == 0 else frozenset(),
        version=version,
    )


async def announce(
    sessions: async_sessionmaker[AsyncSession], residents: list[ResidentFacts], today: date
) -> None:
    async with unit_of_work(sessions, translate=translate) as uow:
        for resident in residents:
            await roster.resident_changed(
                uow, facts=resident, change="state", today=today, threshold=60
            )


async def events_of(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        types = await session.scalars(select(OutboxRecord.event_type))
        return Counter(event_type.split(".")[-2] for event_type in types)


async def daily(sessions: async_sessionmaker[AsyncSession], today: date) -> jobs.DailyRound:
    return await jobs.daily_round(
        sessions, translate=translate, rules=RULES, threshold=60, today=today
    )


async def test_every_entitlement_due_while_down_is_proposed_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    before = date(2025, 12, 30)
    turning_90 = [facts(n, 1936) for n in range(120)]  # reach 90 on 1 January 2026
    turning_89 = [facts(n, 1937) for n in range(120, 150)]
    turning_60 = [facts(n, 1966) for n in range(150, 170)]  # join the roster on 1 January 2026
    await announce(sessions, turning_90 + turning_89 + turning_60, before)

    first = await daily(sessions, before)
    assert first.enrolled == 0  # the 89- and 90-year-olds were enrolled when announced
    assert first.proposed == 150 * 3  # card, certificate and pension check for all over 70
    async with sessions() as session:
        subsidies = await session.scalar(
            select(func.count()).where(EntitlementRow.kind == "longevity_subsidy")
        )
    assert subsidies == 0

    # The service is down from 30 December until 3 March: the clock crosses the 90th (and
    # 60th) birthdays; the first round after catches up, the second finds nothing.
    after = date(2026, 3, 3)
    caught_up = await daily(sessions, after)
    assert (caught_up.enrolled, caught_up.proposed) == (20, 120)
    again = await daily(sessions, after)
    assert (again.enrolled, again.proposed) == (0, 0)

    async with sessions() as session:
        rows = list(await session.scalars(select(EntitlementRow)))
    per_key = Counter((row.resident_id, row.kind) for row in rows)
    assert set(per_key.values()) == {1}
    subsidy = [row for row in rows if row.kind == "longevity_subsidy"]
    assert {row.resident_id for row in subsidy} == {f.resident_id for f in turning_90}
    assert {row.due_on for row in subsidy} == {date(2026, 1, 1)}
    assert {row.proposed_on for row in subsidy} == {after}
    published = await events_of(sessions)
    assert published["due"] == 150 * 3 + 120
    assert published["enrolled"] == 170


async def test_granted_subsidy_pays_each_month_once_until_death(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await announce(sessions, [facts(1, 1936)], date(2026, 1, 5))
    await daily(sessions, date(2026, 1, 5))
    async with sessions() as session:
        entitlement_id = await session.scalar(
            select(EntitlementRow.id).where(EntitlementRow.kind == "longevity_subsidy")
        )
    assert entitlement_id is not None
    async with unit_of_work(sessions, translate=translate) as uow:
        await entitlements.grant(
            uow,
            principal=STAFF,
            entitlement_id=entitlement_id,
            rules=RULES,
            monthly_amount_fen=12_345,
            today=date(2026, 1, 20),
        )
    assert (await daily(sessions, date(2026, 3, 10))).paid == 3  # January to March 2026
    assert (await daily(sessions, date(2026, 3, 11))).paid == 0
    async with unit_of_work(sessions, translate=translate) as uow:
        await roster.resident_changed(
            uow,
            facts=facts(1, 1936, version=2),
            change="died",
            today=date(2026, 4, 3),
            threshold=60,
            ended_on=date(2026, 4, 2),
        )
    assert (await daily(sessions, date(2026, 7, 1))).paid == 1  # April, then nothing
    async with sessions() as session:
        months = list(await session.scalars(select(PaymentRow.month).order_by(PaymentRow.month)))
        total = await session.scalar(select(func.sum(PaymentRow.amount_fen)))
    assert months == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    assert total == 12_345 * 4


async def test_death_closes_care_cancels_orders_and_admits_the_next_in_line(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    today = date(2026, 5, 4)
    now = datetime(2026, 5, 4, 8, tzinfo=UTC)
    await announce(sessions, [facts(1, 1940), facts(2, 1941), facts(3, 1930)], today)
    async with unit_of_work(sessions, translate=translate) as uow:
        await areas.apply_area(
            uow,
            payload=AreaCreated(
                area_id="m1",
                level="community",
                name="m1",
                parent_id="s1",
                path=list(PATH),
                valid_from=date(2005, 1, 1),
            ),
        )
        centre = await placements.open_centre(
            uow,
            principal=STAFF,
            kind="day_care",
            name="Centre",
            community_id="m1",
            capacity=1,
        )
    assert centre.path == PATH, "the centre's path is the community's, from the registry"
    for number in (1, 2, 3):
        async with unit_of_work(sessions, translate=translate) as uow:
            await placements.request_placement(
                uow,
                principal=STAFF,
                resident_id=f"r{number:04d}",
                kind="day_care",
                centre_id=centre.id,
                today=today,
                now=now + timedelta(minutes=number),
            )
    async with sessions() as session:
        listed = await placements.waiting_list(session, principal=STAFF, centre_id=centre.id)
    # r0003 is older than r0002, so goes ahead of them although they asked later.
    assert [p.resident_id for p in listed.waiting] == ["r0003", "r0002"]
    assert [p.position for p in listed.waiting] == [1, 2]
    assert listed.occupied == 1

    async with unit_of_work(sessions, translate=translate) as uow:
        order = await orders.create_order(
            uow, principal=STAFF, resident_id="r0001", service="bathing", today=today
        )
        await orders.assign_order(
            uow, principal=STAFF, order_id=order.id, assignee_kind="carer", assignee_id="c-7"
        )
        await orders.schedule_visit(
            uow,
            principal=STAFF,
            order_id=order.id,
            window_start=now + timedelta(days=1),
            window_end=now + timedelta(days=1, hours=2),
        )
    async with unit_of_work(sessions, translate=translate) as uow:
        await roster.resident_changed(
            uow,
            facts=facts(1, 1940, version=2),
            change="died",
            today=today,
            threshold=60,
            ended_on=today,
        )
    async with sessions() as session:
        listed = await placements.waiting_list(session, principal=STAFF, centre_id=centre.id)
        cancelled = await orders.get_order(session, principal=STAFF, order_id=order.id)
        visits = await orders.list_visits(session, principal=STAFF, order_id=order.id)
    assert [p.resident_id for p in listed.waiting] == ["r0002"]
    assert [p.position for p in listed.waiting] == [1]
    assert listed.occupied == 1  # r0003 took the place
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "deceased"
    assert [v.status for v in visits] == ["cancelled"]
    published = await events_of(sessions)
    assert published["deceased"] == 1
    assert published["ended"] == 1
    assert published["started"] == 2
    assert published["waiting_position_changed"] == 2  # r0002: 1 → 2 (r0003 joined), 2 → 1
    assert published["cancelled"] == 1


async def test_missed_visits_are_flagged_once_in_batches_and_volunteers_come_from_the_registry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    today = date(2026, 5, 4)
    start = datetime(2026, 5, 4, 1, tzinfo=UTC)
    await announce(sessions, [facts(1, 1940)], today)
    async with unit_of_work(sessions, translate=translate) as uow:
        await roster.volunteer_registered(
            uow, volunteer_id="v-1", community_id="m9", path=("c1", "d1", "s9", "m9")
        )
        order = await orders.create_order(
            uow, principal=STAFF, resident_id="r0001", service="companionship", today=today
        )
        assigned = await orders.assign_order(
            uow, principal=STAFF, order_id=order.id, assignee_kind="volunteer", assignee_id="v-1"
        )
        for hour in range(7):
            await orders.schedule_visit(
                uow,
                principal=STAFF,
                order_id=order.id,
                window_start=start + timedelta(hours=hour),
                window_end=start + timedelta(hours=hour + 1),
            )
    assert (assigned.assignee_kind, assigned.assignee_id) == ("volunteer", "v-1")
    now = start + timedelta(hours=5)  # five windows have ended
    async with unit_of_work(sessions, translate=translate) as uow:
        assert await orders.flag_missed(uow, now=now, limit=2) == 2
    assert await jobs.missed_visits(sessions, translate=translate, now=now) == 3
    assert await jobs.missed_visits(sessions, translate=translate, now=now) == 0
    assert (await events_of(sessions))["missed"] == 5
