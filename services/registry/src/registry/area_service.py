"""Use cases on areas: register, get, list and count (``as_of`` any day), merge and split
communities, retire an area. One function per command or query, keyword-only arguments.

A command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and records
the domain events of :mod:`registry.domain.areas` in the order subscribers need them: the new
areas (``AreaCreated``), the households' moves (``HouseholdMoved``/``ResidentMoved``, handed
over by :func:`registry.households.move_households`), the old areas' retirement
(``AreaRetired``), then the summary (``AreasMerged``/``AreaSplit``). Queries take a session
or, on the API's read path, a :class:`shared.reads.ReadConnection`, and answer plain rows.

``principal`` confines a caller to its area: an area outside it is "not found" (404). None is
the platform itself (demo data, imports).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import households
from registry.adapters import areas as store
from registry.adapters.areas import AreaRow
from registry.adapters.facilities import FacilityRow
from registry.adapters.history import HouseholdVersionRow
from registry.adapters.paths import path_ids
from registry.domain import areas
from registry.domain.areas import AreaLevel, CommunityKind, NewCommunity
from registry.domain.hierarchy import DEFAULT_HIERARCHY, Hierarchy
from shared.auth import Principal, ensure_area
from shared.contracts.registry import GRASSROOTS_LEVELS
from shared.errors import FieldError, InvalidInput, NotFound
from shared.pagination import page_of
from shared.reads import ReadConnection, ReadRow, select_rows
from shared.unit_of_work import UnitOfWork

_AREAS = AreaRow.__table__
_AREA_BY_ID = select(_AREAS).where(_AREAS.c.id == bindparam("area_id"))


@dataclass(frozen=True)
class AreaFilter:
    """Which areas a list or count answers on.

    Without ``as_of``, current areas (``include_retired`` adds the retired ones); with it, the
    areas valid on that day. ``within`` is a subtree, its root included.
    """

    within: str | None = None
    level: AreaLevel | None = None
    kind: CommunityKind | None = None
    as_of: date | None = None
    include_retired: bool = False


@dataclass(frozen=True)
class MergeResult:
    """What a merge did."""

    into: AreaRow
    retired: list[AreaRow]
    households_moved: int


@dataclass(frozen=True)
class SplitResult:
    """What a split did."""

    retired: AreaRow
    into: list[AreaRow]
    households_moved: dict[str, int]


# -- reads -------------------------------------------------------------------------------


async def get_area(
    session: AsyncSession, *, area_id: str, principal: Principal | None = None
) -> AreaRow:
    """One area by id, retired or not; :class:`NotFound` if it does not exist or lies outside
    the principal's area."""
    row = await session.get(AreaRow, area_id)
    if row is None:
        raise NotFound(f"no area {area_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    return row


async def find_area(
    db: AsyncSession | ReadConnection, *, area_id: str, principal: Principal | None = None
) -> AreaRow | ReadRow:
    """:func:`get_area` for reads: the stored area as a plain row (the columns of
    :class:`AreaRow`), through a read connection or a session."""
    rows = await select_rows(db, _AREA_BY_ID, {"area_id": area_id})
    if not rows:
        raise NotFound(f"no area {area_id}")
    if principal is not None:
        ensure_area(principal, path_ids(rows[0].path))
    return rows[0]


async def scope_path(
    db: AsyncSession | ReadConnection, *, principal: Principal | None, within: str | None
) -> str | None:
    """The stored path of the area a query is confined to: ``within``, else the token's area;
    None for the whole platform (see :func:`registry.adapters.paths.in_subtree`). 404 when
    the area does not exist or lies outside the token's area."""
    scope_id = within or (principal.area if principal is not None else None)
    if scope_id is None:
        return None
    path: str = (await find_area(db, area_id=scope_id, principal=principal)).path
    return path


async def community_for_new_record(
    session: AsyncSession, *, principal: Principal | None, community_id: str, today: date
) -> areas.CommunityRef:
    """The current community a new record (a facility, a worker …) is attached to: 422 naming
    ``community_id`` if it is not one, 404 if it lies outside the token's area."""
    found = await store.get_community(session, community_id)
    if found is not None and principal is not None:
        ensure_area(principal, found.path)
    return areas.require_current_community(found, community_id=community_id, today=today)


async def list_areas(
    db: AsyncSession | ReadConnection,
    *,
    filters: AreaFilter,
    principal: Principal | None = None,
    after: str | None = None,
    limit: int = 100,
) -> tuple[list[ReadRow], str | None]:
    """One page of areas (plain rows of :data:`SHOWN_COLUMNS`) ordered by id after the id
    ``after``, and the cursor of the next page (None on the last).

    Keyset pagination on the id: a page never repeats or skips an area that existed when the
    first page was read, whatever is registered meanwhile.
    """
    values = await _filter_values(db, filters, principal)
    if after is not None:
        values["after"] = after
    values["limit"] = limit + 1
    rows = list(await select_rows(db, _statement("list", frozenset(values)), values))
    return page_of(rows, limit, lambda row: [row.id])


async def count_areas(
    db: AsyncSession | ReadConnection, *, filters: AreaFilter, principal: Principal | None = None
) -> int:
    """How many areas match ``filters`` (e.g. the communities of a district as of a day)."""
    values = await _filter_values(db, filters, principal)
    return int((await select_rows(db, _statement("count", frozenset(values)), values))[0].total)


SHOWN_COLUMNS = (
    "id",
    "level",
    "name",
    "parent_id",
    "path",
    "kind",
    "household_count",
    "valid_from",
    "valid_to",
    "retired_reason",
    "predecessor_ids",
    "successor_ids",
)
"""The columns of an area a list shows (all but its creation time)."""

_SUBTREE_ESCAPES = re.compile(r"[/%_]")
"""What a ``LIKE`` pattern escapes (with ``/``, as ``startswith(…, autoescape=True)`` does)."""


async def _filter_values(
    db: AsyncSession | ReadConnection, filters: AreaFilter, principal: Principal | None
) -> dict[str, Any]:
    """The value of each condition ``filters`` (and the principal's area) set, by the name
    of its placeholder in :func:`_statement`; ``current`` when only current areas count."""
    if filters.as_of is not None and filters.include_retired:
        raise InvalidInput(
            "as_of already says which areas to include",
            errors=[FieldError("include_retired", "cannot be combined with as_of")],
        )
    values: dict[str, Any] = {}
    scope = await scope_path(db, principal=principal, within=filters.within)
    if scope is not None:
        values["scope"] = _SUBTREE_ESCAPES.sub(r"/\g<0>", scope) + "%"
    if filters.level is not None:
        values["level"] = filters.level
    if filters.kind is not None:
        values["kind"] = filters.kind
    if filters.as_of is not None:
        values["as_of"] = filters.as_of
    elif not filters.include_retired:
        values["current"] = True
    return values


@functools.cache
def _statement(kind: str, names: frozenset[str]) -> Select[Any]:
    """The list (``kind`` "list") or count statement of areas with a placeholder for each
    value in ``names`` (``current`` adds a condition without one): built once for each shape
    (which filters are set), so a read only binds its values."""
    if kind == "list":
        query = select(*(_AREAS.c[name] for name in SHOWN_COLUMNS)).order_by(_AREAS.c.id)
        query = query.limit(bindparam("limit", type_=Integer))
    else:
        query = select(func.count().label("total")).select_from(_AREAS)
    conditions: list[ColumnElement[bool]] = []
    if "scope" in names:
        conditions.append(_AREAS.c.path.like(bindparam("scope"), escape="/"))
    for name in ("level", "kind"):
        if name in names:
            conditions.append(_AREAS.c[name] == bindparam(name))
    if "as_of" in names:
        day = bindparam("as_of", type_=Date)
        conditions.append(_AREAS.c.valid_from <= day)
        conditions.append(or_(_AREAS.c.valid_to.is_(None), _AREAS.c.valid_to >= day))
    if "current" in names:
        conditions.append(_AREAS.c.valid_to.is_(None))
    if "after" in names:
        conditions.append(_AREAS.c.id > bindparam("after"))
    return query.where(*conditions)


# -- commands ----------------------------------------------------------------------------


async def register_area(
    uow: UnitOfWork,
    *,
    area_id: str,
    level: AreaLevel,
    name: str,
    parent_id: str | None,
    valid_from: date,
    kind: CommunityKind | None = None,
    household_count: int | None = None,
    principal: Principal | None = None,
    hierarchy: Hierarchy = DEFAULT_HIERARCHY,
) -> AreaRow:
    """Register an area under its current parent (``AreaCreated``), by the rules of
    ``hierarchy`` (which level may hold which).

    A principal confined to an area may only register below it (and never a city).
    """
    session = uow.session
    parent_row = (
        (await store.locked(session, [parent_id], share=True)).get(parent_id) if parent_id else None
    )
    if principal is not None and principal.area is not None:
        if parent_id is None:
            raise NotFound("a token confined to an area cannot register a city")
        if parent_row is not None:
            ensure_area(principal, parent_row.path_ids)
    areas.ensure_new(area_id, await store.exists(session, area_id))
    created = areas.register_area(
        area_id=area_id,
        level=level,
        name=name,
        parent=store.parent(parent_row) if parent_row is not None else None,
        parent_id=parent_id,
        valid_from=valid_from,
        kind=kind,
        household_count=household_count,
        hierarchy=hierarchy,
    )
    row = store.add(session, created)
    uow.record(created)
    return row


async def merge_communities(
    uow: UnitOfWork,
    *,
    area_ids: Sequence[str],
    into: NewCommunity,
    effective: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> MergeResult:
    """Merge two or more current communities of one street into the new community ``into``
    from ``effective``; every household of the merged ones moves to it.

    The new community's kind and registered household figure default to the merged ones'
    (their common kind; the sum of their figures).
    """
    session = uow.session
    rows = await store.locked(session, area_ids)
    for row in rows.values():
        if principal is not None:
            ensure_area(principal, row.path_ids)
    plan = areas.plan_merge(
        area_ids=area_ids,
        found={area_id: store.version(row) for area_id, row in rows.items()},
        into_id=into.id,
        effective=effective,
        today=today or date.today(),
    )
    areas.after_last_change(
        effective, await last_change(session, plan.merged_ids), area_ids=plan.merged_ids
    )
    areas.ensure_new(into.id, await store.exists(session, into.id))
    parent = await get_area(session, area_id=plan.parent_id)
    if principal is not None:  # the new community must lie in the caller's area too
        ensure_area(principal, [*parent.path_ids, into.id])
    created = plan.created(into, parent_path=parent.path_ids)
    new = store.add(session, created)
    uow.record(created)
    moved = 0
    for area_id in plan.merged_ids:
        moved += await households.move_households(
            uow,
            household_ids=None,
            from_community_id=area_id,
            to_community_id=new.id,
            moved_on=effective,
            reason="area_merge",
        )
    for retired in plan.retired(new.id):
        store.retire(rows[retired.area_id], retired)
        uow.record(retired)
    uow.record(plan.done(created, households_moved=moved))
    merged = [rows[area_id] for area_id in plan.merged_ids]
    return MergeResult(into=new, retired=merged, households_moved=moved)


async def split_community(
    uow: UnitOfWork,
    *,
    area_id: str,
    into: Sequence[NewCommunity],
    effective: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> SplitResult:
    """Split a current community into two or more new ones under its street from
    ``effective``; each household of it moves to the new community listing its id, and every
    one must be listed exactly once.

    A new community's kind defaults to the old one's and its household figure to the number
    of households it takes.
    """
    session = uow.session
    row = (await store.locked(session, [area_id])).get(area_id)
    if row is None:
        raise NotFound(f"no area {area_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    plan = areas.plan_split(
        area=store.version(row),
        into=[(new.id, new.household_ids) for new in into],
        households=await households.household_ids_in_community(session, community_id=row.id),
        effective=effective,
        today=today or date.today(),
    )
    areas.after_last_change(effective, await last_change(session, [row.id]), area_ids=[row.id])
    parent = await get_area(session, area_id=plan.parent_id)
    for new in into:
        if principal is not None:  # the new communities must lie in the caller's area too
            ensure_area(principal, [*parent.path_ids, new.id])
        areas.ensure_new(new.id, await store.exists(session, new.id))
    created = []
    for event in plan.created(into, parent_path=parent.path_ids):
        created.append(store.add(session, event))
        uow.record(event)
    moved: dict[str, int] = {}
    for new_id in plan.into_ids:
        assigned = plan.assignment[new_id]
        moved[new_id] = (
            await households.move_households(
                uow,
                household_ids=assigned,
                from_community_id=row.id,
                to_community_id=new_id,
                moved_on=effective,
                reason="area_split",
            )
            if assigned
            else 0
        )
    retired = plan.retired()
    store.retire(row, retired)
    uow.record(retired, plan.done(households_moved=moved))
    return SplitResult(retired=row, into=created, households_moved=moved)


async def last_change(session: AsyncSession, area_ids: Sequence[str]) -> date | None:
    """The last day anything recorded changed in these areas: a sub-area retired (the day
    after its last), a household version began or ended there, a facility opened or closed."""
    days: list[date | None] = [
        await session.scalar(
            select(func.max(AreaRow.valid_to)).where(AreaRow.parent_id.in_(area_ids))
        ),
        await session.scalar(
            select(func.max(HouseholdVersionRow.valid_from)).where(
                HouseholdVersionRow.community_id.in_(area_ids)
            )
        ),
        await session.scalar(
            select(func.max(HouseholdVersionRow.valid_to)).where(
                HouseholdVersionRow.community_id.in_(area_ids)
            )
        ),
        await session.scalar(
            select(func.max(FacilityRow.opened_on)).where(FacilityRow.community_id.in_(area_ids))
        ),
        await session.scalar(
            select(func.max(FacilityRow.closed_on)).where(FacilityRow.community_id.in_(area_ids))
        ),
    ]
    if days[0] is not None:
        days[0] += timedelta(days=1)
    known = [day for day in days if day is not None]
    return max(known) if known else None


async def retire_area(
    uow: UnitOfWork,
    *,
    area_id: str,
    effective: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> AreaRow:
    """Abolish an area from ``effective`` (its last day is the day before): an area with no
    current sub-areas and, for a community, no households (``AreaRetired``)."""
    session = uow.session
    row = (await store.locked(session, [area_id])).get(area_id)
    if row is None:
        raise NotFound(f"no area {area_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    children = await session.scalar(
        select(func.count())
        .select_from(AreaRow)
        .where(AreaRow.parent_id == row.id, AreaRow.valid_to.is_(None))
    )
    household_total = (
        len(await households.household_ids_in_community(session, community_id=row.id))
        if row.level in GRASSROOTS_LEVELS
        else 0
    )
    retired = areas.check_retire(
        area=store.version(row),
        effective=effective,
        current_children=int(children or 0),
        households=household_total,
        today=today or date.today(),
    )
    areas.after_last_change(effective, await last_change(session, [row.id]), area_ids=[row.id])
    store.retire(row, retired)
    uow.record(retired)
    return row
