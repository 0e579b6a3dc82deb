"""Use cases on targets: load the catalogue's, create one through the API, restore one from its
event, and read them with their status per area.

Commands take the :class:`~shared.unit_of_work.UnitOfWork` first and record domain events
(:mod:`metrics.domain.targets`) in it; queries take a session. Keyword-only arguments
throughout."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters.tables import AreaProjection, ProjectionState, TargetRow, TargetStatusRow
from metrics.domain import targets as domain
from metrics.domain.catalogue import TargetDef
from metrics.domain.measures import Catalogue, Indicator
from metrics.tracking import Tracker
from shared.auth import Principal, ensure_area
from shared.contracts.metrics import TargetCreated
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork

CATALOGUE = "catalogue"
API = "api"


def _row_of(definition: TargetDef, *, origin: str, created_by: str | None = None) -> TargetRow:
    return TargetRow(
        id=definition.id,
        name=definition.name,
        indicator_id=definition.indicator,
        scope_area_id=definition.scope,
        comparison=definition.comparison,
        target_value=definition.target,
        baseline_value=definition.baseline,
        baseline_date=definition.baseline_date,
        deadline=definition.deadline,
        source_plan=definition.source_plan,
        origin=origin,
        created_by=created_by,
    )


_FIELDS = (
    "name",
    "indicator_id",
    "scope_area_id",
    "comparison",
    "target_value",
    "baseline_value",
    "baseline_date",
    "deadline",
    "source_plan",
)


async def sync_catalogue_targets(session: AsyncSession, *, catalogue: Catalogue) -> list[str]:
    """Make the stored catalogue targets equal the catalogue file's; return the ids whose
    definition is new or changed (their statuses are then re-evaluated)."""
    stored = {
        row.id: row
        for row in await session.scalars(select(TargetRow).where(TargetRow.origin == CATALOGUE))
    }
    changed: list[str] = []
    for definition in catalogue.targets:
        fresh = _row_of(definition, origin=CATALOGUE)
        row = stored.pop(definition.id, None) or await session.get(TargetRow, definition.id)
        if row is None:
            session.add(fresh)
            changed.append(definition.id)
            continue
        if any(getattr(row, f) != getattr(fresh, f) for f in _FIELDS) or row.origin != CATALOGUE:
            for name in (*_FIELDS, "origin"):
                setattr(row, name, getattr(fresh, name))
            await session.execute(
                delete(TargetStatusRow).where(TargetStatusRow.target_id == row.id)
            )
            changed.append(definition.id)
    for removed in stored:
        await session.execute(delete(TargetStatusRow).where(TargetStatusRow.target_id == removed))
        await session.execute(delete(TargetRow).where(TargetRow.id == removed))
    return changed


@dataclass(frozen=True)
class NewTarget:
    """What a client gives to set a target."""

    name: str
    indicator_id: str
    scope_area_id: str
    comparison: domain.Comparison
    target_value: float
    baseline_value: float | None
    baseline_date: date
    deadline: date
    source_plan: str
    target_id: str | None = None


@dataclass(frozen=True)
class TargetDetail:
    """A target with its indicator, its scope area (None if not yet known) and its evaluation
    per area, by path."""

    target: TargetRow
    indicator: Indicator | None
    scope: AreaProjection | None
    statuses: list[TargetStatusRow]


async def create_target(
    uow: UnitOfWork,
    *,
    principal: Principal,
    new: NewTarget,
    catalogue: Catalogue,
    tracker: Tracker,
) -> TargetDetail:
    """Store a target, record :class:`~metrics.domain.targets.TargetCreated` and evaluate it
    in every current area under its scope (first statuses record no change)."""
    session = uow.session
    indicator = catalogue.indicator(new.indicator_id)
    if indicator is None:
        raise InvalidInput(
            f"no indicator {new.indicator_id}",
            errors=[FieldError("indicator_id", "not an indicator id (GET /indicators)")],
        )
    scope = await session.get(AreaProjection, new.scope_area_id)
    if scope is None or scope.valid_to is not None:
        raise InvalidInput(
            f"no current area {new.scope_area_id}",
            errors=[FieldError("scope_area_id", "not a current area id")],
        )
    ensure_area(principal, scope.ids)
    domain.check_target(
        target_value=new.target_value,
        baseline_value=new.baseline_value,
        baseline_date=new.baseline_date,
        deadline=new.deadline,
        percent=indicator.percent,
    )
    target_id = new.target_id or f"t-{uuid.uuid4().hex[:12]}"
    if await session.get(TargetRow, target_id) is not None:
        raise Conflict(f"target {target_id} exists already")
    definition = TargetDef(
        id=target_id,
        name=new.name,
        indicator=new.indicator_id,
        scope=new.scope_area_id,
        comparison=new.comparison,
        target=new.target_value,
        baseline=new.baseline_value,
        baseline_date=new.baseline_date,
        deadline=new.deadline,
        source_plan=new.source_plan,
    )
    row = _row_of(definition, origin=API, created_by=principal.subject)
    session.add(row)
    await session.flush()
    uow.record(
        domain.TargetCreated(
            target_id=row.id,
            name=row.name,
            indicator_id=row.indicator_id,
            scope_area_id=row.scope_area_id,
            comparison=definition.comparison,
            target_value=row.target_value,
            baseline_value=row.baseline_value,
            baseline_date=row.baseline_date,
            deadline=row.deadline,
            source_plan=row.source_plan,
        )
    )
    await tracker.evaluate_all(uow, target_ids=[row.id])
    state = await session.get(ProjectionState, 1)
    if state is not None:
        state.revision += 1  # dashboards refresh
    found = await statuses(session, principal=principal, target_id=row.id)
    return TargetDetail(target=row, indicator=indicator, scope=scope, statuses=found)


async def restore_target(
    session: AsyncSession, payload: TargetCreated, *, catalogue: Catalogue
) -> bool:
    """Store a target announced by ``target.created`` unless it exists (the live service
    stored it when it was created); whether it was added."""
    if await session.get(TargetRow, payload.target_id) is not None:
        return False
    if catalogue.indicator(payload.indicator_id) is None:
        return False
    session.add(
        TargetRow(
            id=payload.target_id,
            name=payload.name,
            indicator_id=payload.indicator_id,
            scope_area_id=payload.scope_area_id,
            comparison=payload.comparison,
            target_value=payload.target_value,
            baseline_value=payload.baseline_value,
            baseline_date=payload.baseline_date,
            deadline=payload.deadline,
            source_plan=payload.source_plan,
            origin=API,
        )
    )
    await session.flush()
    return True


# -- reads -------------------------------------------------------------------------------


async def principal_path(session: AsyncSession, principal: Principal) -> list[str] | None:
    """Ids from the city down to the principal's area (None: not confined, or unknown area)."""
    if principal.area is None:
        return None
    area = await session.get(AreaProjection, principal.area)
    return area.ids if area is not None else [principal.area]


def visible(principal: Principal, own_path: list[str] | None, scope: AreaProjection) -> bool:
    """Whether a target concerns the principal: its scope lies in the principal's area, or
    the principal's area lies in its scope."""
    if principal.area is None:
        return True
    return principal.may_access(scope.ids) or scope.area_id in (own_path or [])


async def list_targets(
    session: AsyncSession, *, principal: Principal, area: AreaProjection | None = None
) -> list[tuple[TargetRow, AreaProjection | None]]:
    """Targets the principal may see, with their scope areas (None if not yet known), by id;
    with ``area``, only those whose scope contains it or lies inside it."""
    rows = list(await session.scalars(select(TargetRow).order_by(TargetRow.id)))
    scopes = {
        a.area_id: a
        for a in await session.scalars(
            select(AreaProjection).where(
                AreaProjection.area_id.in_(sorted({r.scope_area_id for r in rows}))
            )
        )
    }
    own_path = await principal_path(session, principal)
    found: list[tuple[TargetRow, AreaProjection | None]] = []
    for row in rows:
        scope = scopes.get(row.scope_area_id)
        if scope is None:
            if principal.area is None and area is None:
                found.append((row, None))
        elif visible(principal, own_path, scope) and (
            area is None or scope.area_id in area.ids or area.area_id in scope.ids
        ):
            found.append((row, scope))
    return found


async def get_target(
    session: AsyncSession, *, principal: Principal, target_id: str
) -> tuple[TargetRow, AreaProjection | None]:
    """One target the principal may see; NotFound otherwise."""
    row = await session.get(TargetRow, target_id)
    if row is None:
        raise NotFound(f"no target {target_id}")
    scope = await session.get(AreaProjection, row.scope_area_id)
    if principal.area is not None and (
        scope is None or not visible(principal, await principal_path(session, principal), scope)
    ):
        raise NotFound(f"no target {target_id}")
    return row, scope


async def target_detail(
    session: AsyncSession,
    *,
    principal: Principal,
    catalogue: Catalogue,
    target_id: str,
    level: str | None = None,
    parent_id: str | None = None,
) -> TargetDetail:
    """One target the principal may see, with its evaluation per area inside the principal's
    area (only areas of ``level``, or in ``parent_id``'s subtree, when given)."""
    target, scope = await get_target(session, principal=principal, target_id=target_id)
    rows = await statuses(
        session, principal=principal, target_id=target_id, level=level, parent_id=parent_id
    )
    return TargetDetail(
        target=target,
        indicator=catalogue.indicator(target.indicator_id),
        scope=scope,
        statuses=rows,
    )


async def statuses(
    session: AsyncSession,
    *,
    principal: Principal,
    target_id: str,
    area_ids: Sequence[str] | None = None,
    level: str | None = None,
    parent_id: str | None = None,
) -> list[TargetStatusRow]:
    """The target's evaluation per area inside the principal's area, by path."""
    query = select(TargetStatusRow).where(TargetStatusRow.target_id == target_id)
    if area_ids is not None:
        query = query.where(TargetStatusRow.area_id.in_(sorted(set(area_ids))))
    if level is not None:
        query = query.where(TargetStatusRow.level == level)
    if parent_id is not None:
        parent = await session.get(AreaProjection, parent_id)
        if parent is None:
            return []
        query = query.where(TargetStatusRow.path.startswith(parent.path, autoescape=True))
    rows = await session.scalars(query.order_by(TargetStatusRow.path))
    return [row for row in rows if principal.may_access([p for p in row.path.split("/") if p])]
