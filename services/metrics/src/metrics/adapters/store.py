"""Queries and upserts over the metrics tables that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters.tables import (
    AreaProjection,
    EntityProjection,
    IndicatorSnapshot,
    MeasureLedger,
    path_text,
)
from metrics.domain.measures import SCALE, Requirement
from shared.db import dialect_insert

LedgerKey = tuple[str, str, date]
"""(area id, measure key, day)."""

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def add_to_ledger(session: AsyncSession, deltas: Mapping[LedgerKey, int]) -> None:
    """Add each delta to its ledger row (created at 0 when missing); zero deltas are skipped."""
    rows = [
        {"area_id": area, "measure": measure, "day": day, "delta": delta}
        for (area, measure, day), delta in sorted(deltas.items())
        if delta
    ]
    table = MeasureLedger.__table__
    for chunk in _chunks(rows):
        statement = dialect_insert(session, table).values(list(chunk))  # type: ignore[arg-type]
        statement = statement.on_conflict_do_update(
            index_elements=["area_id", "measure", "day"],
            set_={"delta": table.c.delta + statement.excluded.delta},
        )
        await session.execute(statement)


async def upsert_snapshots(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace indicator snapshot rows."""
    table = IndicatorSnapshot.__table__
    for chunk in _chunks(sorted(rows, key=lambda r: (r["indicator_id"], r["area_id"], r["day"]))):
        statement = dialect_insert(session, table).values(list(chunk))  # type: ignore[arg-type]
        statement = statement.on_conflict_do_update(
            index_elements=["indicator_id", "area_id", "day"],
            set_={
                "value": statement.excluded.value,
                "numerator": statement.excluded.numerator,
                "denominator": statement.excluded.denominator,
            },
        )
        await session.execute(statement)


async def ledger_sums(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    requirements: Iterable[Requirement],
    day: date,
) -> dict[tuple[str, Requirement], float]:
    """Each requirement's value in each area on ``day`` (0 where the ledger has nothing)."""
    areas = sorted(set(area_ids))
    by_start: dict[date | None, set[str]] = defaultdict(set)
    for requirement in requirements:
        by_start[requirement.start].add(requirement.measure)
    found: dict[tuple[str, Requirement], float] = {}
    if not areas:
        return found
    for start, measures in by_start.items():
        for area_chunk in _chunks(areas):
            query = (
                select(MeasureLedger.area_id, MeasureLedger.measure, func.sum(MeasureLedger.delta))
                .where(
                    MeasureLedger.area_id.in_(area_chunk),
                    MeasureLedger.measure.in_(sorted(measures)),
                    MeasureLedger.day <= day,
                )
                .group_by(MeasureLedger.area_id, MeasureLedger.measure)
            )
            if start is not None:
                query = query.where(MeasureLedger.day >= start)
            for area_id, measure, total in await session.execute(query):
                found[(area_id, Requirement(measure, start))] = int(total or 0) / SCALE
    return found


async def ledger_rows(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    measures: Iterable[str],
    floor: date,
    until: date,
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], list[tuple[date, int]]]]:
    """For each (area, measure): the sum of its deltas before ``floor - 1 day``, and its
    rows from ``floor - 1 day`` to ``until`` in day order (two queries per 500 areas)."""
    areas, keys = sorted(set(area_ids)), sorted(set(measures))
    base: dict[tuple[str, str], int] = {}
    rows: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    if not areas or not keys:
        return base, rows
    start = floor - timedelta(days=1)
    for chunk in _chunks(areas):
        inside = and_(MeasureLedger.area_id.in_(chunk), MeasureLedger.measure.in_(keys))
        before = await session.execute(
            select(MeasureLedger.area_id, MeasureLedger.measure, func.sum(MeasureLedger.delta))
            .where(inside, MeasureLedger.day < start)
            .group_by(MeasureLedger.area_id, MeasureLedger.measure)
        )
        for area_id, measure, total in before:
            base[(area_id, measure)] = int(total or 0)
        recent = await session.execute(
            select(
                MeasureLedger.area_id, MeasureLedger.measure, MeasureLedger.day, MeasureLedger.delta
            )
            .where(inside, MeasureLedger.day >= start, MeasureLedger.day <= until)
            .order_by(MeasureLedger.area_id, MeasureLedger.measure, MeasureLedger.day)
        )
        for area_id, measure, day, delta in recent:
            rows[(area_id, measure)].append((day, int(delta)))
    return base, rows


async def entities(
    session: AsyncSession, ids_by_kind: Mapping[str, Sequence[str]]
) -> list[EntityProjection]:
    """The stored states of the given entities (one query per kind and 500 ids)."""
    found: list[EntityProjection] = []
    for kind, ids in sorted(ids_by_kind.items()):
        for chunk in _chunks(sorted(set(ids))):
            found += await session.scalars(
                select(EntityProjection).where(
                    EntityProjection.entity_type == kind, EntityProjection.entity_id.in_(chunk)
                )
            )
    return found


async def areas_by_id(session: AsyncSession, area_ids: Iterable[str]) -> dict[str, AreaProjection]:
    """The projected areas among ``area_ids``."""
    ids = sorted(set(area_ids))
    found: dict[str, AreaProjection] = {}
    for chunk in _chunks(ids):
        rows = await session.scalars(
            select(AreaProjection).where(AreaProjection.area_id.in_(chunk))
        )
        found.update({row.area_id: row for row in rows})
    return found


def current_on(day: date) -> Any:
    """SQL condition: the area exists on ``day``."""
    return and_(
        or_(AreaProjection.valid_from.is_(None), AreaProjection.valid_from <= day),
        or_(AreaProjection.valid_to.is_(None), AreaProjection.valid_to >= day),
    )


async def communities_within(
    session: AsyncSession, areas: Sequence[AreaProjection], day: date
) -> list[AreaProjection]:
    """Communities existing on ``day`` in the subtree of any of ``areas`` (themselves included)."""
    if not areas:
        return []
    prefixes = sorted({area.path for area in areas})
    found: dict[str, AreaProjection] = {}
    for chunk in _chunks(prefixes, 50):
        rows = await session.scalars(
            select(AreaProjection).where(
                AreaProjection.level == "community",
                current_on(day),
                or_(*(AreaProjection.path.startswith(p, autoescape=True) for p in chunk)),
            )
        )
        found.update({row.area_id: row for row in rows})
    return sorted(found.values(), key=lambda row: row.area_id)


async def communities_under(
    session: AsyncSession, areas: Sequence[AreaProjection]
) -> list[AreaProjection]:
    """Communities ever in the subtree of any of ``areas`` (themselves included), current
    or not."""
    if not areas:
        return []
    prefixes = sorted({area.path for area in areas})
    prefixes = [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]
    found: dict[str, AreaProjection] = {}
    for chunk in _chunks(prefixes, 50):
        rows = await session.scalars(
            select(AreaProjection).where(
                AreaProjection.level == "community",
                or_(*(AreaProjection.path.startswith(p, autoescape=True) for p in chunk)),
            )
        )
        found.update({row.area_id: row for row in rows})
    return sorted(found.values(), key=lambda row: row.area_id)


async def areas_within(
    session: AsyncSession, scope: AreaProjection, *, day: date | None = None
) -> list[AreaProjection]:
    """Areas in the subtree of ``scope`` (itself included) existing on ``day``; with no day,
    the areas not retired."""
    condition = current_on(day) if day is not None else AreaProjection.valid_to.is_(None)
    rows = await session.scalars(
        select(AreaProjection)
        .where(AreaProjection.path.startswith(scope.path, autoescape=True), condition)
        .order_by(AreaProjection.path)
    )
    return list(rows)


async def snapshot_days(
    session: AsyncSession, *, indicator_ids: Iterable[str], area_ids: Iterable[str], since: date
) -> set[tuple[str, str, date]]:
    """(indicator, area, day) of the snapshots on or after ``since`` of the given pairs' ids."""
    indicators, areas = sorted(set(indicator_ids)), sorted(set(area_ids))
    if not indicators or not areas:
        return set()
    rows = await session.execute(
        select(
            IndicatorSnapshot.indicator_id, IndicatorSnapshot.area_id, IndicatorSnapshot.day
        ).where(
            IndicatorSnapshot.indicator_id.in_(indicators),
            IndicatorSnapshot.area_id.in_(areas),
            IndicatorSnapshot.day >= since,
        )
    )
    return {(i, a, d) for i, a, d in rows}


async def history(
    session: AsyncSession,
    *,
    indicator_id: str,
    area_ids: Sequence[str],
    start: date,
    end: date,
) -> dict[str, list[tuple[date, float | None]]]:
    """Snapshots of one indicator per area from ``start`` to ``end``, preceded by the last one
    before ``start`` (so the value on ``start`` is known), in day order."""
    found: dict[str, list[tuple[date, float | None]]] = {area: [] for area in area_ids}
    if not area_ids:
        return found
    latest_before = (
        select(IndicatorSnapshot.area_id, func.max(IndicatorSnapshot.day).label("day"))
        .where(
            IndicatorSnapshot.indicator_id == indicator_id,
            IndicatorSnapshot.area_id.in_(area_ids),
            IndicatorSnapshot.day < start,
        )
        .group_by(IndicatorSnapshot.area_id)
        .subquery()
    )
    before = await session.execute(
        select(IndicatorSnapshot.area_id, IndicatorSnapshot.day, IndicatorSnapshot.value).join(
            latest_before,
            and_(
                IndicatorSnapshot.area_id == latest_before.c.area_id,
                IndicatorSnapshot.day == latest_before.c.day,
                IndicatorSnapshot.indicator_id == indicator_id,
            ),
        )
    )
    for area_id, day, value in before:
        found[area_id].append((day, value))
    rows = await session.execute(
        select(IndicatorSnapshot.area_id, IndicatorSnapshot.day, IndicatorSnapshot.value)
        .where(
            IndicatorSnapshot.indicator_id == indicator_id,
            IndicatorSnapshot.area_id.in_(area_ids),
            IndicatorSnapshot.day >= start,
            IndicatorSnapshot.day <= end,
        )
        .order_by(IndicatorSnapshot.area_id, IndicatorSnapshot.day)
    )
    for area_id, day, value in rows:
        found[area_id].append((day, value))
    return found


def subtree_condition(path: str) -> Any:
    """SQL condition: an area path inside the subtree of ``path`` (itself included)."""
    return AreaProjection.path.startswith(path, autoescape=True)


def prefix_of(ids: Sequence[str]) -> str:
    """The stored path of ``ids``."""
    return path_text(list(ids))
