"""Queries of the metrics service over its projections."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters.tables import AreaProjection


async def area_counts(session: AsyncSession, *, area_id: str) -> dict[str, int] | None:
    """Areas per level in the subtree of ``area_id`` (itself included); None if unknown."""
    root = await session.get(AreaProjection, area_id)
    if root is None:
        return None
    rows = await session.execute(
        select(AreaProjection.level, func.count())
        .where(AreaProjection.path.startswith(root.path, autoescape=True))
        .group_by(AreaProjection.level)
    )
    return {level: count for level, count in rows}


async def area_path(session: AsyncSession, *, area_id: str) -> list[str] | None:
    """Ids from the city down to ``area_id``, or None if the area is unknown."""
    root = await session.get(AreaProjection, area_id)
    return [part for part in root.path.split("/") if part] if root else None
