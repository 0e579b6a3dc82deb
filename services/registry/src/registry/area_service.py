"""Use cases on areas: register, get, list and count (``as_of`` any day), merge and split
communities, retire an area. One function per command, keyword-only arguments.

Each write runs in the caller's transaction and stages its events in the outbox there, in the
order subscribers need them: the new areas (``AreaCreated``), the households' moves
(``HouseholdMoved``/``ResidentMoved``, from :mod:`registry.people_service`), the old areas'
retirement (``AreaRetired``), then the summary (``AreasMerged``/``AreaSplit``).

``principal`` confines a caller to its area: an area outside it is "not found" (404). None is
the platform itself (demo data, imports).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import people_service
from registry.adapters.tables import AreaRow
from registry.domain.areas import (
    AreaLevel,
    AreaVersion,
    CommunityKind,
    ParentArea,
    RetireReason,
    check_retire,
    ensure_new,
    inherited_kind,
    merged_household_count,
    path_for_new_area,
    plan_merge,
    plan_split,
)
from shared import outbox
from shared.auth import Principal, ensure_area
from shared.contracts import CONTRACTS
from shared.contracts.registry import AreaCreated, AreaRetired, AreasMerged, AreaSplit
from shared.errors import FieldError, InvalidInput, NotFound
from shared.pagination import decode_cursor, page_of

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class NewCommunity:
    """A community a merge or split creates; ``household_ids`` are what a split moves to it."""

    id: str
    name: str
    kind: CommunityKind | None = None
    household_count: int | None = None
    household_ids: Sequence[str] = field(default_factory=tuple)


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


async def list_areas(
    session: AsyncSession,
    *,
    filters: AreaFilter,
    principal: Principal | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[AreaRow], str | None]:
    """One page of areas ordered by id and the cursor of the next page (None on the last).

    Keyset pagination on the id: a page never repeats or skips an area that existed when the
    first page was read, whatever is registered meanwhile.
    """
    query = await _filtered(session, select(AreaRow), filters, principal)
    key = decode_cursor(cursor)
    if key is not None:
        if len(key) != 1 or not isinstance(key[0], str):
            raise InvalidInput(
                "malformed cursor",
                errors=[FieldError("query.cursor", "not a cursor from this API")],
            )
        query = query.where(AreaRow.id > key[0])
    rows = list((await session.scalars(query.order_by(AreaRow.id).limit(limit + 1))).all())
    return page_of(rows, limit, lambda row: [row.id])


async def count_areas(
    session: AsyncSession, *, filters: AreaFilter, principal: Principal | None = None
) -> int:
    """How many areas match ``filters`` (e.g. the communities of a district as of a day)."""
    query = await _filtered(session, select(func.count()).select_from(AreaRow), filters, principal)
    return int(await session.scalar(query) or 0)


async def _filtered(
    session: AsyncSession, query: Q, filters: AreaFilter, principal: Principal | None
) -> Q:
    """``query`` restricted to ``filters`` and to the principal's area."""
    if filters.as_of is not None and filters.include_retired:
        raise InvalidInput(
            "as_of already says which areas to include",
            errors=[FieldError("query.include_retired", "cannot be combined with as_of")],
        )
    scope_id = filters.within or (principal.area if principal is not None else None)
    if scope_id is not None:
        scope = await get_area(session, area_id=scope_id, principal=principal)
        query = query.where(AreaRow.path.startswith(scope.path, autoescape=True))
    if filters.level is not None:
        query = query.where(AreaRow.level == filters.level)
    if filters.kind is not None:
        query = query.where(AreaRow.kind == filters.kind)
    if filters.as_of is not None:
        query = query.where(_valid_on(filters.as_of))
    elif not filters.include_retired:
        query = query.where(AreaRow.valid_to.is_(None))
    return query


def _valid_on(day: date) -> ColumnElement[bool]:
    return and_(AreaRow.valid_from <= day, or_(AreaRow.valid_to.is_(None), AreaRow.valid_to >= day))


# -- writes ------------------------------------------------------------------------------


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
    principal: Principal | None = None,
) -> AreaRow:
    """Register an area under its current parent and stage ``AreaCreated``.

    A principal confined to an area may only register below it (and never a city).
    """
    parent_row = (
        (await _locked(session, [parent_id], share=True)).get(parent_id) if parent_id else None
    )
    if principal is not None and principal.area is not None:
        if parent_id is None:
            raise NotFound("a token confined to an area cannot register a city")
        if parent_row is not None:
            ensure_area(principal, parent_row.path_ids)
    ensure_new(area_id, await session.get(AreaRow, area_id) is not None)
    parent = _parent(parent_row) if parent_row is not None else None
    path = path_for_new_area(
        area_id=area_id, level=level, parent=parent, parent_id=parent_id, valid_from=valid_from
    )
    return _create(
        session,
        area_id=area_id,
        level=level,
        name=name,
        parent_id=parent_id,
        path=path,
        valid_from=valid_from,
        kind=kind,
        household_count=household_count,
    )


async def merge_communities(
    session: AsyncSession,
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
    rows = await _locked(session, area_ids)
    for row in rows.values():
        if principal is not None:
            ensure_area(principal, row.path_ids)
    plan = plan_merge(
        area_ids=area_ids,
        found={area_id: _version(row) for area_id, row in rows.items()},
        into_id=into.id,
        effective=effective,
        today=today or date.today(),
    )
    ensure_new(into.id, await session.get(AreaRow, into.id) is not None)
    merged = [rows[area_id] for area_id in plan.merged_ids]
    parent = await get_area(session, area_id=plan.parent_id)
    if principal is not None:  # the new community must lie in the caller's area too
        ensure_area(principal, [*parent.path_ids, into.id])
    new = _create(
        session,
        area_id=into.id,
        level="community",
        name=into.name,
        parent_id=parent.id,
        path=(*parent.path_ids, into.id),
        valid_from=effective,
        kind=into.kind or inherited_kind([_kind(row) for row in merged]),
        household_count=(
            into.household_count
            if into.household_count is not None
            else merged_household_count([row.household_count for row in merged])
        ),
        predecessors=plan.merged_ids,
    )
    moved = 0
    for row in merged:
        moved += await people_service.move_households(
            session,
            household_ids=None,
            from_community_id=row.id,
            to_community_id=new.id,
            moved_on=effective,
            reason="area_merge",
        )
    for row in merged:
        _retire(session, row, valid_to=plan.valid_to, reason="merged", successors=[new.id])
    payload = AreasMerged(
        merged_ids=list(plan.merged_ids),
        into_id=new.id,
        path=new.path_ids,
        effective=effective,
        households_moved=moved,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=new.id))
    return MergeResult(into=new, retired=merged, households_moved=moved)


async def split_community(
    session: AsyncSession,
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
    row = (await _locked(session, [area_id])).get(area_id)
    if row is None:
        raise NotFound(f"no area {area_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    plan = plan_split(
        area=_version(row),
        into=[(new.id, new.household_ids) for new in into],
        households=await people_service.household_ids_in_community(session, community_id=row.id),
        effective=effective,
        today=today or date.today(),
    )
    parent = await get_area(session, area_id=plan.parent_id)
    for new in into:
        if principal is not None:  # the new communities must lie in the caller's area too
            ensure_area(principal, [*parent.path_ids, new.id])
        ensure_new(new.id, await session.get(AreaRow, new.id) is not None)
    created = [
        _create(
            session,
            area_id=new.id,
            level="community",
            name=new.name,
            parent_id=parent.id,
            path=(*parent.path_ids, new.id),
            valid_from=effective,
            kind=new.kind or _kind(row),
            household_count=(
                new.household_count
                if new.household_count is not None
                else len(plan.assignment[new.id])
            ),
            predecessors=[row.id],
        )
        for new in into
    ]
    moved: dict[str, int] = {}
    for new_row in created:
        assigned = plan.assignment[new_row.id]
        moved[new_row.id] = (
            await people_service.move_households(
                session,
                household_ids=assigned,
                from_community_id=row.id,
                to_community_id=new_row.id,
                moved_on=effective,
                reason="area_split",
            )
            if assigned
            else 0
        )
    _retire(session, row, valid_to=plan.valid_to, reason="split", successors=list(plan.into_ids))
    payload = AreaSplit(
        area_id=row.id, into_ids=list(plan.into_ids), effective=effective, households_moved=moved
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    return SplitResult(retired=row, into=created, households_moved=moved)


async def retire_area(
    session: AsyncSession,
    *,
    area_id: str,
    effective: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> AreaRow:
    """Abolish an area from ``effective`` (its last day is the day before): an area with no
    current sub-areas and, for a community, no households. Stages ``AreaRetired``."""
    row = (await _locked(session, [area_id])).get(area_id)
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
        len(await people_service.household_ids_in_community(session, community_id=row.id))
        if row.level == "community"
        else 0
    )
    valid_to = check_retire(
        area=_version(row),
        effective=effective,
        current_children=int(children or 0),
        households=household_total,
        today=today or date.today(),
    )
    _retire(session, row, valid_to=valid_to, reason="abolished", successors=[])
    return row


# -- helpers -----------------------------------------------------------------------------


async def _locked(
    session: AsyncSession, area_ids: Sequence[str], *, share: bool = False
) -> dict[str, AreaRow]:
    """The existing areas among ``area_ids``, freshly read and locked until the transaction
    ends, in id order (no deadlock): exclusively to change them (two concurrent merges cannot
    both retire a community), or ``share`` to add below them (not while they are retired)."""
    query = (
        select(AreaRow)
        .where(AreaRow.id.in_(set(area_ids)))
        .order_by(AreaRow.id)
        .with_for_update(read=share)
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in (await session.scalars(query)).all()}


def _create(
    session: AsyncSession,
    *,
    area_id: str,
    level: AreaLevel,
    name: str,
    parent_id: str | None,
    path: Sequence[str],
    valid_from: date,
    kind: CommunityKind | None,
    household_count: int | None,
    predecessors: Sequence[str] = (),
) -> AreaRow:
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
        retired_reason=None,
        predecessor_ids=json.dumps(list(predecessors)) if predecessors else None,
        successor_ids=None,
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


def _retire(
    session: AsyncSession,
    row: AreaRow,
    *,
    valid_to: date,
    reason: RetireReason,
    successors: list[str],
) -> None:
    row.valid_to = valid_to
    row.retired_reason = reason
    row.successor_ids = json.dumps(successors)
    payload = AreaRetired(
        area_id=row.id,
        level=_level(row),
        path=row.path_ids,
        valid_to=valid_to,
        reason=reason,
        successor_ids=successors,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))


def _version(row: AreaRow) -> AreaVersion:
    return AreaVersion(
        id=row.id,
        level=_level(row),
        parent_id=row.parent_id,
        path=tuple(row.path_ids),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def _parent(row: AreaRow) -> ParentArea:
    return ParentArea(
        id=row.id,
        level=_level(row),
        path=tuple(row.path_ids),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def _level(row: AreaRow) -> AreaLevel:
    level: AreaLevel = row.level  # type: ignore[assignment]  # stored from an AreaLevel
    return level


def _kind(row: AreaRow) -> CommunityKind | None:
    kind: CommunityKind | None = row.kind  # type: ignore[assignment]  # stored from a kind
    return kind
