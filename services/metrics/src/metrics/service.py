"""Read use cases of the metrics service: areas, indicator values and history, the drill-down
view, the projection state and table exports. Keyword-only arguments; ``principal`` confines
every answer to the caller's area (outside it: 404)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.adapters import store
from metrics.adapters.tables import (
    AreaLineage,
    AreaProjection,
    ProjectionState,
    TargetRow,
    TargetStatusRow,
)
from metrics.domain.measures import Catalogue, Indicator, Value
from shared.auth import Principal, ensure_area
from shared.errors import NotFound
from shared.paths import path_ids


async def area_counts(session: AsyncSession, *, area_id: str) -> dict[str, int] | None:
    """Current areas per level in the subtree of ``area_id`` (itself included); None if
    unknown."""
    root = await session.get(AreaProjection, area_id)
    if root is None:
        return None
    rows = await session.execute(
        select(AreaProjection.level, func.count())
        .where(store.subtree_condition(root.path), AreaProjection.valid_to.is_(None))
        .group_by(AreaProjection.level)
    )
    return {level: count for level, count in rows}


async def area_path(session: AsyncSession, *, area_id: str) -> list[str] | None:
    """Ids from the city down to ``area_id``, or None if the area is unknown."""
    root = await session.get(AreaProjection, area_id)
    return root.ids if root else None


async def get_area(session: AsyncSession, *, principal: Principal, area_id: str) -> AreaProjection:
    """One area (retired or not) inside the principal's area; NotFound otherwise."""
    area = await session.get(AreaProjection, area_id)
    if area is None:
        raise NotFound(f"no area {area_id}")
    ensure_area(principal, area.ids)
    return area


async def list_areas(
    session: AsyncSession,
    *,
    principal: Principal,
    level: str | None = None,
    parent_id: str | None = None,
    include_retired: bool = False,
) -> list[AreaProjection]:
    """Areas inside the principal's area, by path; current ones unless ``include_retired``."""
    query = select(AreaProjection)
    if level is not None:
        query = query.where(AreaProjection.level == level)
    if parent_id is not None:
        query = query.where(AreaProjection.parent_id == parent_id)
    if not include_retired:
        query = query.where(AreaProjection.valid_to.is_(None))
    if principal.area is not None:
        root = await session.get(AreaProjection, principal.area)
        if root is None:
            return []
        query = query.where(store.subtree_condition(root.path))
    return list(await session.scalars(query.order_by(AreaProjection.path)))


async def children(
    session: AsyncSession, *, principal: Principal, area_id: str, include_retired: bool = False
) -> tuple[AreaProjection, list[AreaProjection]]:
    """An area and its child areas (current ones unless ``include_retired``)."""
    area = await get_area(session, principal=principal, area_id=area_id)
    query = select(AreaProjection).where(AreaProjection.parent_id == area_id)
    if not include_retired:
        query = query.where(AreaProjection.valid_to.is_(None))
    return area, list(await session.scalars(query.order_by(AreaProjection.area_id)))


async def lineage(session: AsyncSession, *, area_ids: Sequence[str]) -> dict[str, list[str]]:
    """The predecessors of each area created by a merge or split."""
    found: dict[str, list[str]] = {}
    if not area_ids:
        return found
    rows = await session.execute(
        select(AreaLineage.area_id, AreaLineage.predecessor_id)
        .where(AreaLineage.area_id.in_(sorted(set(area_ids))))
        .order_by(AreaLineage.area_id, AreaLineage.predecessor_id)
    )
    for area_id, predecessor in rows:
        found.setdefault(area_id, []).append(predecessor)
    return found


@dataclass(frozen=True)
class AreaValue:
    """An indicator's value in one area on a day."""

    area: AreaProjection
    value: Value


def indicator_or_404(catalogue: Catalogue, indicator_id: str) -> Indicator:
    """The catalogue's indicator, or NotFound."""
    indicator = catalogue.indicator(indicator_id)
    if indicator is None:
        raise NotFound(f"no indicator {indicator_id}")
    return indicator


async def indicator_values(
    session: AsyncSession,
    *,
    principal: Principal,
    catalogue: Catalogue,
    indicator_id: str,
    area_id: str,
    as_of: date,
) -> list[AreaValue]:
    """The indicator's value on ``as_of`` in an area and in each of its child areas existing
    that day, computed from the daily per-area history (so also for past days, and for
    indicators that change with the calendar, such as this year's hours)."""
    indicator = indicator_or_404(catalogue, indicator_id)
    area = await get_area(session, principal=principal, area_id=area_id)
    kids = await session.scalars(
        select(AreaProjection)
        .where(AreaProjection.parent_id == area_id, store.current_on(as_of))
        .order_by(AreaProjection.area_id)
    )
    areas = [area, *kids]
    values = await evaluation.evaluate(
        session, indicators=[indicator], area_ids=[a.area_id for a in areas], day=as_of
    )
    return [AreaValue(a, values[(indicator.id, a.area_id)]) for a in areas]


async def indicator_history(
    session: AsyncSession,
    *,
    principal: Principal,
    catalogue: Catalogue,
    indicator_id: str,
    area_id: str,
    start: date,
    end: date,
) -> list[tuple[date, float | None]]:
    """The values from ``start`` to ``end`` as a step function (a point on ``start``, on each
    day the value changes, and on ``end``), computed like the values API's."""
    indicator = indicator_or_404(catalogue, indicator_id)
    await get_area(session, principal=principal, area_id=area_id)
    found = await evaluation.history(
        session, indicator=indicator, area_ids=[area_id], start=start, end=end
    )
    return found[area_id]


async def target_rows_at(
    session: AsyncSession, *, area_ids: Sequence[str]
) -> dict[str, list[TargetStatusRow]]:
    """Every target's evaluation in each of ``area_ids``."""
    found: dict[str, list[TargetStatusRow]] = {a: [] for a in area_ids}
    if not area_ids:
        return found
    rows = await session.scalars(
        select(TargetStatusRow)
        .where(TargetStatusRow.area_id.in_(sorted(set(area_ids))))
        .order_by(TargetStatusRow.target_id)
    )
    for row in rows:
        found[row.area_id].append(row)
    return found


async def target_ids_by_indicator(session: AsyncSession) -> dict[str, list[str]]:
    """The ids of the targets set on each indicator."""
    found: dict[str, list[str]] = {}
    rows = await session.execute(
        select(TargetRow.id, TargetRow.indicator_id).order_by(TargetRow.id)
    )
    for target_id, indicator_id in rows:
        found.setdefault(indicator_id, []).append(target_id)
    return found


async def projection_state(session: AsyncSession) -> ProjectionState:
    """How many events the projections have applied, and the latest event's time."""
    state = await session.get(ProjectionState, 1)
    return state or ProjectionState(id=1, revision=0, events_applied=0, last_event_time=None)


# -- exports -----------------------------------------------------------------------------

EXPORTS: dict[str, str] = {
    "areas": "The area projection (current and retired areas).",
    "indicators": "The indicator catalogue.",
    "targets": "Every target.",
    "target_status": "Each target's latest evaluation per area.",
    "snapshots": "Every indicator's value per area on each day it changed (the history).",
}
"""Tables ``GET /export/{table}.csv`` serves, with what they hold."""

SNAPSHOTS_FROM = date(2000, 1, 1)
"""First day of the exported history."""


def _cell(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


async def export_rows(
    session: AsyncSession,
    *,
    principal: Principal,
    catalogue: Catalogue,
    table: str,
    today: date,
) -> AsyncIterator[dict[str, Any]]:
    """The rows of an exported table inside the principal's area, as plain values."""
    root_path: str | None = None
    if principal.area is not None:
        root = await session.get(AreaProjection, principal.area)
        root_path = root.path if root is not None else f"/{principal.area}/"

    def inside(path: str) -> bool:
        return root_path is None or path.startswith(root_path)

    match table:
        case "areas":
            for area in await session.scalars(select(AreaProjection).order_by(AreaProjection.path)):
                if inside(area.path):
                    yield {
                        "area_id": area.area_id,
                        "level": area.level,
                        "name": area.name,
                        "path": "/".join(area.ids),
                        "parent_id": area.parent_id,
                        "kind": area.kind,
                        "household_count": area.household_count,
                        "valid_from": _cell(area.valid_from),
                        "valid_to": _cell(area.valid_to),
                        "retire_reason": area.retire_reason,
                        "successor_ids": " ".join(json.loads(area.successor_ids or "[]")),
                    }
        case "indicators":
            for indicator in catalogue.indicators.values():
                d = indicator.definition
                yield {
                    "id": d.id,
                    "name": d.name,
                    "kind": d.kind,
                    "unit": d.unit,
                    "period": d.period,
                    "awaiting_source": indicator.awaiting,
                    "source": d.source,
                    "definition": d.model_dump_json(by_alias=True, exclude_none=True),
                }
        case "targets":
            scopes = {a.area_id: a.path for a in await session.scalars(select(AreaProjection))}
            for target in await session.scalars(select(TargetRow).order_by(TargetRow.id)):
                scope = scopes.get(target.scope_area_id, f"/{target.scope_area_id}/")
                if root_path is None or scope.startswith(root_path) or root_path.startswith(scope):
                    yield {c.name: _cell(getattr(target, c.name)) for c in TargetRow.__table__.c}
        case "target_status":
            statuses = select(TargetStatusRow).order_by(
                TargetStatusRow.target_id, TargetStatusRow.path
            )
            for row in await session.scalars(statuses):
                if inside(row.path):
                    values = {
                        c.name: _cell(getattr(row, c.name)) for c in TargetStatusRow.__table__.c
                    }
                    values["path"] = "/".join(path_ids(row.path))
                    yield values
        case "snapshots":
            areas = [
                a
                for a in await session.scalars(select(AreaProjection).order_by(AreaProjection.path))
                if inside(a.path)
            ]
            for indicator in catalogue.indicators.values():
                if indicator.awaiting is not None:
                    continue
                found = await evaluation.history(
                    session,
                    indicator=indicator,
                    area_ids=[a.area_id for a in areas],
                    start=SNAPSHOTS_FROM,
                    end=today,
                )
                for area in areas:
                    for day, value in found[area.area_id]:
                        if value is not None or day != SNAPSHOTS_FROM:
                            yield {
                                "indicator_id": indicator.id,
                                "area_id": area.area_id,
                                "day": day.isoformat(),
                                "value": value,
                            }
        case _:
            raise NotFound(f"no exported table {table}; one of {', '.join(EXPORTS)}")
