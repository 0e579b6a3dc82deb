"""Demo data for ``make dev``: a slice of Jincheng (seed 002), the city whose three-year plan
sets the targets the metrics service tracks. Codes follow the GB/T 2260 pattern; household
counts are within the documents' 1,500–2,300 per community."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import area_service
from registry.adapters.tables import AreaRow
from registry.domain.areas import AreaLevel, CommunityKind
from shared.db import transaction

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


async def load_demo_data(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Register the demo areas if the register is empty; return how many were added."""
    async with transaction(sessions) as session:
        if await session.scalar(select(func.count()).select_from(AreaRow)):
            return 0
        for area_id, level, name, parent, kind, households in DEMO_AREAS:
            await area_service.register_area(
                session,
                area_id=area_id,
                level=level,
                name=name,
                parent_id=parent,
                valid_from=SINCE,
                kind=kind,
                household_count=households,
            )
            await session.flush()
    log.info("demo data loaded", extra={"areas": len(DEMO_AREAS)})
    return len(DEMO_AREAS)
