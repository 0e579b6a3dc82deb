"""Queries and upserts over the metrics tables that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import String, and_, bindparam, case, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters.tables import AreaProjection, EntityProjection, MeasureLedger
from metrics.domain.measures import SCALE, Requirement
from shared.contracts.registry import GRASSROOTS_LEVELS
from shared.db import copy_records, dialect_insert, insert_records
from shared.paths import path_text

LedgerKey = tuple[str, str, date]
"""(area id, measure key, day)."""

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_LEDGER_STAGING = text(
    "CREATE TEMPORARY TABLE IF NOT EXISTS measure_ledger_in (area_id varchar(32), "
    "measure varchar(64), day date, delta bigint) ON COMMIT DELETE ROWS"
)
"""PostgreSQL: the connection's staging table of a batch's ledger deltas (emptied at commit)."""

_LEDGER_MERGE = text(
    "INSERT INTO measure_ledger (area_id, measure, day, delta) "
    "SELECT area_id, measure, day, delta FROM measure_ledger_in ORDER BY area_id, measure, day "
    "ON CONFLICT (area_id, measure, day) DO UPDATE "
    "SET delta = measure_ledger.delta + excluded.delta"
)
"""PostgreSQL: the staged deltas added to the ledger in one statement, rows locked in key
order."""

_LEDGER_COLUMNS = ("area_id", "measure", "day", "delta")


async def add_to_ledger(session: AsyncSession, deltas: Mapping[LedgerKey, int]) -> None:
    """Add each delta to its ledger row (created at 0 when missing); zero deltas are skipped.

    On PostgreSQL the deltas are copied (``COPY``) into a temporary staging table and merged
    from there in one upsert: about half the client CPU of binding them as four arrays, whose
    encoding checks every element's type."""
    records = [
        (area, measure, day, delta) for (area, measure, day), delta in deltas.items() if delta
    ]
    if not records:
        return
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LEDGER_STAGING)
        await copy_records(session, "measure_ledger_in", _LEDGER_COLUMNS, records)
        await session.execute(_LEDGER_MERGE)
        return
    table = MeasureLedger.__table__
    statement = dialect_insert(session, table)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["area_id", "measure", "day"],
        set_={"delta": table.c.delta + statement.excluded.delta},
    )
    rows = [dict(zip(_LEDGER_COLUMNS, record, strict=True)) for record in sorted(records)]
    await session.execute(statement, rows)  # one compiled statement, sent in batches


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


async def ledger_cut_sums(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    measures: Iterable[str],
    cuts: Sequence[date],
) -> dict[tuple[str, str], list[int]]:
    """For each (area, measure), the sum of its deltas up to each of ``cuts`` (in order), in
    one pass over the ledger per 500 areas."""
    areas, keys = sorted(set(area_ids)), sorted(set(measures))
    found: dict[tuple[str, str], list[int]] = {}
    if not areas or not keys or not cuts:
        return found
    columns = [
        func.sum(case((MeasureLedger.day <= cut, MeasureLedger.delta), else_=0)) for cut in cuts
    ]
    for chunk in _chunks(areas):
        rows = await session.execute(
            select(MeasureLedger.area_id, MeasureLedger.measure, *columns)
            .where(
                MeasureLedger.area_id.in_(chunk),
                MeasureLedger.measure.in_(keys),
                MeasureLedger.day <= max(cuts),
            )
            .group_by(MeasureLedger.area_id, MeasureLedger.measure)
        )
        for area_id, measure, *totals in rows:
            found[(area_id, measure)] = [int(t or 0) for t in totals]
    return found


async def ledger_change_days(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    measures: Iterable[str],
    after: date,
    until: date,
) -> dict[str, dict[str, set[date]]]:
    """Per area and measure (of ``measures``), the days in (after, until] with a non-zero
    ledger row."""
    areas, keys = sorted(set(area_ids)), sorted(set(measures))
    found: dict[str, dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
    if not areas or not keys:
        return found
    for chunk in _chunks(areas):
        rows = await session.execute(
            select(MeasureLedger.area_id, MeasureLedger.measure, MeasureLedger.day).where(
                MeasureLedger.area_id.in_(chunk),
                MeasureLedger.measure.in_(keys),
                MeasureLedger.day > after,
                MeasureLedger.day <= until,
                MeasureLedger.delta != 0,
            )
        )
        for area_id, measure, day in rows:
            found[area_id][measure].add(day)
    return found


async def entities(
    session: AsyncSession, ids_by_kind: Mapping[str, Sequence[str]]
) -> list[EntityProjection]:
    """The stored states of the given entities: on PostgreSQL one query per kind, joining
    the ids as an array (``unnest``: one index probe per id, where ``= ANY`` is planned as a
    scan of the whole kind), elsewhere one query per kind and 500 ids."""
    found: list[EntityProjection] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for kind, ids in sorted(ids_by_kind.items()):
        if postgres:
            wanted = (
                func.unnest(bindparam(None, sorted(set(ids)), type_=ARRAY(String)))
                .table_valued("id")
                .render_derived()
            )
            found += await session.scalars(
                select(EntityProjection)
                .join(wanted, EntityProjection.entity_id == wanted.c.id)
                .where(EntityProjection.entity_type == kind)
            )
            continue
        for chunk in _chunks(sorted(set(ids))):
            found += await session.scalars(
                select(EntityProjection).where(
                    EntityProjection.entity_type == kind, EntityProjection.entity_id.in_(chunk)
                )
            )
    return found


_ENTITY_COLUMNS = (
    "entity_type",
    "entity_id",
    "community_id",
    "path",
    "version",
    "active",
    "since",
    "ended_on",
    "attributes",
)


def entity_columns(row: object) -> dict[str, Any]:
    """The ``entity_projection`` columns of an entity state (of any class with them)."""
    return {name: getattr(row, name) for name in _ENTITY_COLUMNS}


async def insert_entities(session: AsyncSession, rows: Sequence[object]) -> None:
    """Insert new entity states (not in the session) in one statement (``COPY`` on
    PostgreSQL), each row's columns read straight into a tuple."""
    columns = attrgetter(*_ENTITY_COLUMNS)
    await insert_records(
        session,
        EntityProjection.__table__,  # type: ignore[arg-type]
        _ENTITY_COLUMNS,
        [columns(row) for row in rows],
    )


_AREAS = "metrics.areas"
"""Key in ``session.info`` of the areas the session has read by id (the same ORM instances
its identity map holds: a batch asks for its areas several times)."""


async def areas_by_id(session: AsyncSession, area_ids: Iterable[str]) -> dict[str, AreaProjection]:
    """The projected areas among ``area_ids`` (those the session read before from memory)."""
    known: dict[str, AreaProjection] = session.info.setdefault(_AREAS, {})
    wanted = set(area_ids)
    found = {area_id: known[area_id] for area_id in wanted & known.keys()}
    for chunk in _chunks(sorted(wanted - found.keys())):
        rows = await session.scalars(
            select(AreaProjection).where(AreaProjection.area_id.in_(chunk))
        )
        found.update({row.area_id: row for row in rows})
    known.update(found)
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
                AreaProjection.level.in_(GRASSROOTS_LEVELS),
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
                AreaProjection.level.in_(GRASSROOTS_LEVELS),
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


def subtree_condition(path: str) -> Any:
    """SQL condition: an area path inside the subtree of ``path`` (itself included)."""
    return AreaProjection.path.startswith(path, autoescape=True)


def prefix_of(ids: Sequence[str]) -> str:
    """The stored path of ``ids``."""
    return path_text(list(ids))
