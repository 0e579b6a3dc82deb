"""Demo data for ``make dev``: a slice of Jincheng (seed 002), the city whose three-year plan
sets the targets the metrics service tracks. Codes follow the GB/T 2260 pattern; household
counts are within the documents' 1,500–2,300 per community."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import area_service, community_service, facility_service
from registry.adapters.areas import AreaRow
from registry.domain.areas import AreaLevel, CommunityKind
from registry.domain.community import Appointment
from shared.auth import Principal
from shared.contracts.registry import Education, FacilityKind, RoomPurpose, Sex, WorkerRole
from shared.unit_of_work import EventTranslator, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)
SINCE = date(2005, 1, 1)

# (id, level, name, parent, kind, households)
DEMO_AREAS: list[tuple[str, AreaLevel, str, str | None, CommunityKind | None, int | None]] = [
    ("140500", "city", "Jincheng", None, None, None),
    ("140502", "district", "Chengqu", "140500", None, None),
    ("140525", "district", "Zezhou", "140500", None, None),
    ("140502001", "street", "Dongjie", "140502", None, None),
    ("140502002", "street", "Xijie", "140502", None, None),
    ("140525001", "street", "Nancun", "140525", None, None),
    ("140525002", "street", "Jinmiaopu", "140525", None, None),
    ("140502001001", "community", "Dongjie No. 1", "140502001", "residential", 1947),
    ("140502001002", "community", "Kuangqu", "140502001", "enterprise_workers", 2280),
    ("140502002001", "community", "Xijie No. 1", "140502002", "residential", 1620),
    ("140502002002", "community", "Zhongjiazhuang", "140502002", "urban_rural_fringe", 1890),
    ("140525001001", "community", "Nancun Centre", "140525001", "block", 1500),
    ("140525001002", "community", "Nancun Station", "140525001", "work_unit", 2100),
    ("140525002001", "community", "Jinmiaopu", "140525002", "geographic", 1730),
]


DEMO = Principal(subject="demo-data", scopes=frozenset())

# Office and public service rooms (m²) per community: four of seven reach 300 m², short of
# the Jincheng plan's 80 %, so the dashboard has a target to watch move.
OFFICE_ROOMS: dict[str, list[tuple[RoomPurpose, float]]] = {
    "140502001001": [("office", 120.0), ("public_service", 210.0)],
    "140502001002": [("office", 90.0), ("public_service", 150.0), ("elderly_activity", 80.0)],
    "140502002001": [("office", 80.0), ("public_service", 110.0)],
    "140502002002": [("office", 60.0), ("labour_security", 70.0)],
    "140525001001": [("office", 150.0), ("community_service", 160.0)],
    "140525001002": [("office", 70.0), ("health_family_planning", 90.0)],
    "140525002001": [("office", 100.0), ("public_service", 120.0), ("police", 90.0)],
}
LIBRARIES = ["140502001001", "140525001001"]
SPORTS_PLACES = ["140502001001", "140502001002", "140502002001", "140525001001", "140525002001"]
# (role, appointment, education, birth year, sex, cross appointed) in every community
WORKERS: list[tuple[WorkerRole, Appointment, Education, int, Sex, bool]] = [
    ("party_secretary", "elected", "bachelor", 1975, "female", True),
    ("committee_director", "elected", "college", 1980, "male", False),
    ("officer", "hired", "senior_middle", 1990, "female", False),
]


async def load_demo_data(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator
) -> int:
    """Register the demo areas, facilities and workers, with their events, in one unit of work
    if the register is empty; return how many areas were added."""
    async with unit_of_work(sessions, translate=translate) as uow:
        if await uow.session.scalar(select(func.count()).select_from(AreaRow)):
            return 0
        for area_id, level, name, parent, kind, households in DEMO_AREAS:
            await area_service.register_area(
                uow,
                area_id=area_id,
                level=level,
                name=name,
                parent_id=parent,
                valid_from=SINCE,
                kind=kind,
                household_count=households,
            )
            await uow.flush()
        for community_id, rooms in OFFICE_ROOMS.items():
            await _facility(uow, community_id, "office", rooms)
        for community_id in LIBRARIES:
            await _facility(uow, community_id, "library", [("library", 120.0)])
        for community_id in SPORTS_PLACES:
            await _facility(uow, community_id, "culture_sports_place", [("culture_sports", 400.0)])
        for community_id in OFFICE_ROOMS:
            for role, appointment, education, born, sex, cross in WORKERS:
                await community_service.appoint_worker(
                    uow,
                    principal=DEMO,
                    community_id=community_id,
                    role=role,
                    appointment=appointment,
                    education=education,
                    birth_year=born,
                    sex=sex,
                    cross_appointed=cross,
                    appointed_on=date(2020, 1, 1),
                )
    log.info("demo data loaded", extra={"areas": len(DEMO_AREAS)})
    return len(DEMO_AREAS)


async def _facility(
    uow: UnitOfWork,
    community_id: str,
    kind: FacilityKind,
    rooms: list[tuple[RoomPurpose, float]],
) -> None:
    await facility_service.open_facility(
        uow,
        principal=DEMO,
        community_id=community_id,
        kind=kind,
        rooms=rooms,
        opened_on=date(2006, 1, 1),
    )
