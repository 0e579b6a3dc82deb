"""Demo data for ``make dev``: elders in the registry's demo communities (Jincheng), with
assessments, a day-care centre and an institution with their placements and waiting list,
and service orders with visits, all through the service's own use cases.

The registry's demo registers no residents, so its areas and the elders enter the way registry
events would bring them (:func:`eldercare.areas.apply_area` with the registry demo's areas,
:func:`eldercare.roster.resident_changed` with registry-style facts, ids ``demo-elder-NN``);
the daily round then proposes their entitlements.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare import areas, assessments, clock, jobs, orders, placements, roster
from eldercare.adapters.tables import ElderRow
from eldercare.api.deps import Policy
from eldercare.domain.assessment import BARTHEL_ITEMS
from eldercare.domain.roster import ResidentFacts
from shared.auth import Principal
from shared.contracts.eldercare import PlacementKind, ServiceKind
from shared.contracts.registry import AreaCreated, AreaLevel, ResidentFlag, Sex
from shared.unit_of_work import EventTranslator, unit_of_work

log = logging.getLogger(__name__)
DEMO = Principal(subject="demo-data", scopes=frozenset())
COMMUNITIES = [
    ("140500", "140502", "140502001", "140502001001"),
    ("140500", "140502", "140502001", "140502001002"),
    ("140500", "140502", "140502002", "140502002001"),
    ("140500", "140525", "140525001", "140525001001"),
]
AREAS: list[tuple[str, AreaLevel, tuple[str, ...]]] = [
    ("140500", "city", ("140500",)),
    ("140502", "district", ("140500", "140502")),
    ("140525", "district", ("140500", "140525")),
    ("140502001", "street", ("140500", "140502", "140502001")),
    ("140502002", "street", ("140500", "140502", "140502002")),
    ("140525001", "street", ("140500", "140525", "140525001")),
    *((path[-1], "community", path) for path in COMMUNITIES),
]
"""The demo communities and the areas above them."""
# (age this year, sex, flags, disabled, Barthel score band: full / mild / moderate / severe)
ELDERS: list[tuple[int, Sex, tuple[ResidentFlag, ...], bool, str]] = [
    (92, "female", ("living_alone",), False, "severe"),
    (90, "male", ("empty_nest",), True, "moderate"),
    (85, "female", (), False, "moderate"),
    (81, "female", ("living_alone",), False, "mild"),
    (76, "male", (), False, "mild"),
    (73, "female", ("empty_nest",), False, "full"),
    (68, "male", (), False, "full"),
    (66, "female", ("living_alone",), False, "full"),
    (65, "male", (), False, "full"),
    (64, "female", (), False, "full"),
    (60, "male", (), False, "full"),
    (56, "female", (), False, "full"),
]
SCORES: dict[str, dict[str, int]] = {
    "full": {name: max(allowed) for name, allowed in BARTHEL_ITEMS.items()},
    "mild": {**{n: max(a) for n, a in BARTHEL_ITEMS.items()}, "stairs": 0, "bathing": 0},
    "moderate": {
        **{n: max(a) for n, a in BARTHEL_ITEMS.items()},
        "stairs": 0,
        "bathing": 0,
        "mobility": 5,
        "transfers": 5,
        "dressing": 5,
        "toilet_use": 5,
    },
    "severe": {n: min(a) for n, a in BARTHEL_ITEMS.items()} | {"feeding": 5, "bowels": 10},
}
IADL: dict[str, list[str]] = {
    "full": [],
    "mild": ["shopping", "transportation"],
    "moderate": ["shopping", "transportation", "housekeeping", "laundry", "food_preparation"],
    "severe": [
        "shopping",
        "transportation",
        "housekeeping",
        "laundry",
        "food_preparation",
        "medications",
        "finances",
    ],
}
SERVICES: list[ServiceKind] = ["meal_delivery", "cleaning", "health_check"]


async def load_demo_data(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator, policy: Policy
) -> bool:
    """Load the demo when the roster is empty; False when there was something already."""
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(ElderRow)):
            return False
    today, now = clock.today(), clock.now()
    async with unit_of_work(sessions, translate=translate) as uow:
        for area_id, level, path in AREAS:  # the registry demo's, as its events would tell
            await areas.apply_area(
                uow,
                payload=AreaCreated(
                    area_id=area_id,
                    level=level,
                    name=area_id,
                    parent_id=path[-2] if len(path) > 1 else None,
                    path=list(path),
                    valid_from=date(2005, 1, 1),
                ),
            )
        for number, (age, sex, flags, disabled, _) in enumerate(ELDERS, start=1):
            path = COMMUNITIES[number % len(COMMUNITIES)]
            facts = ResidentFacts(
                resident_id=f"demo-elder-{number:02d}",
                community_id=path[-1],
                path=path,
                sex=sex,
                birth_year=today.year - age,
                disabled=disabled,
                flags=frozenset(flags),
                version=1,
            )
            await roster.resident_changed(
                uow, facts=facts, change="state", today=today, threshold=policy.threshold
            )
    await jobs.daily_round(
        sessions, translate=translate, rules=policy.rules, threshold=policy.threshold, today=today
    )
    enrolled = [
        (f"demo-elder-{n:02d}", band)
        for n, (age, *_, band) in enumerate(ELDERS, start=1)
        if age >= policy.threshold
    ]
    async with unit_of_work(sessions, translate=translate) as uow:
        for resident_id, band in enrolled:
            await assessments.record_assessment(
                uow,
                principal=DEMO,
                resident_id=resident_id,
                barthel=SCORES[band],
                iadl_dependent=IADL[band],
                today=today,
            )
        day_care = await placements.open_centre(
            uow,
            principal=DEMO,
            kind="day_care",
            name="Dongjie elderly service centre",
            community_id=COMMUNITIES[0][-1],
            capacity=2,
        )
        home = await placements.open_centre(
            uow,
            principal=DEMO,
            kind="institution",
            name="Jincheng welfare home",
            community_id=COMMUNITIES[3][-1],
            capacity=1,
        )
    for offset, (resident_id, band) in enumerate(enrolled[:6]):
        kind: PlacementKind
        centre_id: str | None
        async with unit_of_work(sessions, translate=translate) as uow:
            if band == "severe":
                kind, centre_id = "institution", home.id
            elif offset < 5:
                kind, centre_id = "day_care", day_care.id
            else:
                kind, centre_id = "home", None
            await placements.request_placement(
                uow,
                principal=DEMO,
                resident_id=resident_id,
                kind=kind,
                centre_id=centre_id,
                today=today,
                now=now + timedelta(seconds=offset),
            )
    async with unit_of_work(sessions, translate=translate) as uow:
        for offset, (resident_id, _) in enumerate(enrolled[:3]):
            order = await orders.create_order(
                uow,
                principal=DEMO,
                resident_id=resident_id,
                service=SERVICES[offset],
                today=today,
            )
            await orders.assign_order(
                uow,
                principal=DEMO,
                order_id=order.id,
                assignee_kind="carer",
                assignee_id=f"carer-{offset + 1}",
            )
            start = datetime(today.year, today.month, today.day, 1, tzinfo=UTC)
            for day in (-1, 0, 1):
                await orders.schedule_visit(
                    uow,
                    principal=DEMO,
                    order_id=order.id,
                    window_start=start + timedelta(days=day),
                    window_end=start + timedelta(days=day, hours=2),
                )
    log.info("eldercare demo data loaded", extra={"elders": len(ELDERS)})
    return True
