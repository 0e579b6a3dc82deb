"""Use cases of the registry service: one function per command, keyword-only arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.contracts import CONTRACTS
from shared.contracts.registry import AreaCreated
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.adapters.tables import AreaRow
from registry.domain.areas import (
    AreaLevel,
    CommunityKind,
    ParentArea,
    ensure_new,
    path_for_new_area,
)
from shared import outbox


async def register_area(
    session: AsyncSession,
    *,
    area_id: str,
    level: AreaLevel,
    name: str,
    parent_id: str | None,
    valid_from: date,
    kind: CommunityKind | None = None,
    household_count: int | None = None,
) -> AreaRow:
    """Register an area under its parent and publish ``AreaCreated`` in the same transaction."""
    ensure_new(area_id, await session.get(AreaRow, area_id) is not None)
    parent_row = await session.get(AreaRow, parent_id) if parent_id else None
    parent = (
        ParentArea(parent_row.id, parent_row.level, tuple(parent_row.path_ids))  # type: ignore[arg-type]
        if parent_row
        else None
    )
    path = path_for_new_area(area_id=area_id, level=level, parent=parent, parent_id=parent_id)
    row = AreaRow(
        id=area_id,
        level=level,
        name=name,
        parent_id=parent_id,
        path="/" + "/".join(path) + "/",
        kind=kind,
        household_count=household_count,
        valid_from=valid_from,
        valid_to=None,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    payload = AreaCreated(
        area_id=area_id,
        level=level,
        name=name,
        parent_id=parent_id,
        path=list(path),
        valid_from=valid_from,
        kind=kind,
        household_count=household_count,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=area_id))
    return row


async def get_area(session: AsyncSession, *, area_id: str) -> AreaRow | None:
    """One area by id, or None."""
    return await session.get(AreaRow, area_id)


async def list_areas(
    session: AsyncSession,
    *,
    within: AreaRow | None = None,
    level: AreaLevel | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[AreaRow]:
    """Areas ordered by id, optionally in the subtree of ``within`` (inclusive) and of one level.

    ``after`` is the last id of the previous page (keyset pagination: stable under inserts).
    """
    query = select(AreaRow).order_by(AreaRow.id).limit(limit)
    if within is not None:
        query = query.where(AreaRow.path.startswith(within.path, autoescape=True))
    if level is not None:
        query = query.where(AreaRow.level == level)
    if after is not None:
        query = query.where(AreaRow.id > after)
    return list((await session.scalars(query)).all())
