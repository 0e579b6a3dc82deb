"""Use cases for facilities, community workers, social organisations and volunteers: one
function per command or query, keyword-only arguments.

Commands run in the caller's transaction (the router's ``run_idempotent`` begins and commits
it) and stage their events in the outbox there. Every use case takes the caller's
:class:`~shared.auth.Principal` and confines it to its area: a record, or a community, outside
the token's area is reported as not found (404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from registry.adapters import places as store
from registry.adapters.places import (
    FacilityRoomRow,
    FacilityRow,
    OrganisationRow,
    VolunteerHoursRow,
    VolunteerRow,
    WorkerRow,
)
from registry.adapters.tables import AreaRow
from registry.domain import community, facilities
from shared.auth import Principal, ensure_area
from shared.contracts.registry import Education, FacilityKind, RoomPurpose, Sex, WorkerRole
from shared.errors import NotFound

FacilityStatus = Literal["open", "closed"]


def current_date() -> date:
    """Today's date on the service's clock (use cases take ``today`` to be testable)."""
    return date.today()


def new_id() -> str:
    """A new record id."""
    return str(uuid.uuid4())


# -- areas in scope ------------------------------------------------------------------------


async def resolve_scope(
    session: AsyncSession, *, principal: Principal, within: str | None
) -> AreaRow | None:
    """The area a query is confined to: ``within``, else the token's area, else None (the
    whole platform). 404 when it does not exist or lies outside the token's area."""
    scope_id = within or principal.area
    if scope_id is None:
        return None
    scope = await session.get(AreaRow, scope_id)
    if scope is None:
        raise NotFound(f"no area {scope_id}")
    ensure_area(principal, scope.path_ids)
    return scope


async def _community_for_new_record(
    session: AsyncSession, *, principal: Principal, community_id: str, today: date
) -> community.CommunityRef:
    found = await store.get_community(session, community_id)
    if found is not None:
        ensure_area(principal, found.path)
    return community.require_current_community(found, community_id=community_id, today=today)


def _in_scope(
    path_column: InstrumentedAttribute[str], scope: AreaRow | None
) -> ColumnElement[bool]:
    if scope is None:
        return true()
    return path_column.startswith(scope.path, autoescape=True)


async def _current_communities(
    session: AsyncSession, scope: AreaRow | None, day: date
) -> list[AreaRow]:
    """The communities in ``scope`` that exist on ``day`` (``valid_to`` is their last day)."""
    query = select(AreaRow).where(
        AreaRow.level == "community",
        _in_scope(AreaRow.path, scope),
        AreaRow.valid_from <= day,
        or_(AreaRow.valid_to.is_(None), AreaRow.valid_to >= day),
    )
    return list((await session.scalars(query.order_by(AreaRow.id))).all())


async def _open_rooms_by_community(
    session: AsyncSession, scope: AreaRow | None, day: date
) -> dict[str, list[tuple[str, float]]]:
    """Floor area per room purpose of the facilities open on ``day``, by community."""
    query = (
        select(FacilityRow.community_id, FacilityRoomRow.purpose, func.sum(FacilityRoomRow.area_m2))
        .join(FacilityRoomRow, FacilityRoomRow.facility_id == FacilityRow.id)
        .where(
            _in_scope(FacilityRow.path, scope),
            FacilityRow.opened_on <= day,
            or_(FacilityRow.closed_on.is_(None), FacilityRow.closed_on > day),
        )
        .group_by(FacilityRow.community_id, FacilityRoomRow.purpose)
    )
    rooms: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for community_id, purpose, area in await session.execute(query):
        rooms[community_id].append((purpose, float(area or 0)))
    return rooms


# -- facilities ----------------------------------------------------------------------------


async def open_facility(
    session: AsyncSession,
    *,
    principal: Principal,
    community_id: str,
    kind: FacilityKind,
    rooms: Sequence[tuple[RoomPurpose, float]],
    opened_on: date,
    today: date | None = None,
    facility_id: str | None = None,
) -> facilities.FacilitySnapshot:
    """Register an open facility of a current community; publishes ``facility.opened``.

    ``facility_id`` lets an import choose a stable id (default: a new one).
    """
    day = today or current_date()
    found = await _community_for_new_record(
        session, principal=principal, community_id=community_id, today=day
    )
    facility = facilities.Facility.open(
        facility_id=facility_id or new_id(),
        community=found,
        kind=kind,
        rooms=rooms,
        opened_on=opened_on,
        today=day,
    )
    await store.save_facility(session, facility)
    return facility.state


async def _facility(
    session: AsyncSession, *, principal: Principal, facility_id: str, for_update: bool = False
) -> facilities.Facility:
    facility = await store.get_facility(session, facility_id, for_update=for_update)
    if facility is None:
        raise NotFound(f"no facility {facility_id}")
    ensure_area(principal, facility.state.path)
    return facility


async def update_facility(
    session: AsyncSession,
    *,
    principal: Principal,
    facility_id: str,
    kind: FacilityKind | None = None,
    rooms: Sequence[tuple[RoomPurpose, float]] | None = None,
) -> facilities.FacilitySnapshot:
    """Change a facility's kind and/or replace its rooms; publishes ``facility.updated`` when
    something changed (409 for a closed facility)."""
    facility = await _facility(
        session, principal=principal, facility_id=facility_id, for_update=True
    )
    if facility.update(kind=kind, rooms=rooms):
        await store.save_facility(session, facility)
    return facility.state


async def close_facility(
    session: AsyncSession,
    *,
    principal: Principal,
    facility_id: str,
    closed_on: date,
    today: date | None = None,
) -> facilities.FacilitySnapshot:
    """Close a facility; publishes ``facility.closed`` (409 when already closed)."""
    facility = await _facility(
        session, principal=principal, facility_id=facility_id, for_update=True
    )
    facility.close(closed_on=closed_on, today=today or current_date())
    await store.save_facility(session, facility)
    return facility.state


async def get_facility(
    session: AsyncSession, *, principal: Principal, facility_id: str
) -> facilities.FacilitySnapshot:
    """One facility (404 when missing or outside the token's area)."""
    return (await _facility(session, principal=principal, facility_id=facility_id)).state


async def list_facilities(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    kind: FacilityKind | None = None,
    status: FacilityStatus | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[facilities.FacilitySnapshot]:
    """Facilities by id in the scope (see :func:`resolve_scope`), of one kind and/or status,
    after the id ``after`` (keyset pagination)."""
    scope = await resolve_scope(session, principal=principal, within=within)
    query = select(FacilityRow).where(_in_scope(FacilityRow.path, scope))
    if kind is not None:
        query = query.where(FacilityRow.kind == kind)
    if status == "open":
        query = query.where(FacilityRow.closed_on.is_(None))
    elif status == "closed":
        query = query.where(FacilityRow.closed_on.is_not(None))
    if after is not None:
        query = query.where(FacilityRow.id > after)
    rows = list((await session.scalars(query.order_by(FacilityRow.id).limit(limit))).all())
    rooms: dict[str, list[tuple[str, float]]] = defaultdict(list)
    if rows:
        found = await session.execute(
            select(
                FacilityRoomRow.facility_id, FacilityRoomRow.purpose, FacilityRoomRow.area_m2
            ).where(FacilityRoomRow.facility_id.in_([row.id for row in rows]))
        )
        for facility_id, purpose, area in found:
            rooms[facility_id].append((purpose, area))
    return [store.facility_snapshot(row, rooms[row.id]) for row in rows]


async def communities_meeting_area(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    threshold_m2: float = facilities.DEFAULT_THRESHOLD_M2,
    as_of: date | None = None,
) -> facilities.AreaShare:
    """Which current communities in scope have at least ``threshold_m2`` of office and public
    service rooms in facilities open on ``as_of`` (default today), of how many."""
    day = as_of or current_date()
    scope = await resolve_scope(session, principal=principal, within=within)
    rooms = await _open_rooms_by_community(session, scope, day)
    area_by_community = {
        row.id: facilities.office_and_public_service_m2(rooms.get(row.id, []))
        for row in await _current_communities(session, scope, day)
    }
    return facilities.communities_meeting_area(area_by_community, threshold_m2=threshold_m2)


async def service_area(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    norm: facilities.ServiceAreaNorm = facilities.CITY_NORM,
    as_of: date | None = None,
) -> facilities.ServiceAreaReport:
    """Supporting service-room area of every current community in scope against ``norm``
    (default 25 m² per 150 households), with the households registered with the community."""
    day = as_of or current_date()
    scope = await resolve_scope(session, principal=principal, within=within)
    rooms = await _open_rooms_by_community(session, scope, day)
    return facilities.service_area_report(
        (
            (row.id, facilities.service_room_m2(rooms.get(row.id, [])), row.household_count)
            for row in await _current_communities(session, scope, day)
        ),
        norm=norm,
    )


# -- community workers ---------------------------------------------------------------------


async def appoint_worker(
    session: AsyncSession,
    *,
    principal: Principal,
    community_id: str,
    role: WorkerRole,
    appointment: community.Appointment,
    education: Education,
    birth_year: int,
    sex: Sex,
    cross_appointed: bool,
    appointed_on: date,
    today: date | None = None,
) -> community.WorkerSnapshot:
    """Record a worker's appointment in a current community; publishes ``worker.appointed``."""
    day = today or current_date()
    found = await _community_for_new_record(
        session, principal=principal, community_id=community_id, today=day
    )
    worker = community.Worker.appoint(
        worker_id=new_id(),
        community=found,
        role=role,
        appointment=appointment,
        education=education,
        birth_year=birth_year,
        sex=sex,
        cross_appointed=cross_appointed,
        appointed_on=appointed_on,
        today=day,
    )
    await store.save_worker(session, worker)
    return worker.state


async def _worker(
    session: AsyncSession, *, principal: Principal, worker_id: str, for_update: bool = False
) -> community.Worker:
    worker = await store.get_worker(session, worker_id, for_update=for_update)
    if worker is None:
        raise NotFound(f"no worker {worker_id}")
    ensure_area(principal, worker.state.path)
    return worker


async def worker_leaves(
    session: AsyncSession,
    *,
    principal: Principal,
    worker_id: str,
    left_on: date,
    today: date | None = None,
) -> community.WorkerSnapshot:
    """End an appointment; publishes ``worker.left`` (409 when already left)."""
    worker = await _worker(session, principal=principal, worker_id=worker_id, for_update=True)
    worker.leave(left_on=left_on, today=today or current_date())
    await store.save_worker(session, worker)
    return worker.state


async def get_worker(
    session: AsyncSession, *, principal: Principal, worker_id: str
) -> community.WorkerSnapshot:
    """One appointment (404 when missing or outside the token's area)."""
    return (await _worker(session, principal=principal, worker_id=worker_id)).state


def _serving_on(day: date) -> ColumnElement[bool]:
    return and_(
        WorkerRow.appointed_on <= day, or_(WorkerRow.left_on.is_(None), WorkerRow.left_on >= day)
    )


async def list_workers(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    role: WorkerRole | None = None,
    appointment: community.Appointment | None = None,
    current: bool = False,
    after: str | None = None,
    limit: int = 100,
    today: date | None = None,
) -> list[community.WorkerSnapshot]:
    """Appointments by id in scope, filtered by role, elected/hired and (``current``) serving
    today, after the id ``after``."""
    scope = await resolve_scope(session, principal=principal, within=within)
    query = select(WorkerRow).where(_in_scope(WorkerRow.path, scope))
    if role is not None:
        query = query.where(WorkerRow.role == role)
    if appointment is not None:
        query = query.where(WorkerRow.appointment == appointment)
    if current:
        query = query.where(_serving_on(today or current_date()))
    if after is not None:
        query = query.where(WorkerRow.id > after)
    rows = await session.scalars(query.order_by(WorkerRow.id).limit(limit))
    return [store.worker_snapshot(row) for row in rows]


async def worker_stats(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    as_of: date | None = None,
) -> community.WorkerStats:
    """Count, education, average age and cross appointments of the workers in scope serving
    on ``as_of`` (default today)."""
    day = as_of or current_date()
    scope = await resolve_scope(session, principal=principal, within=within)
    query = select(
        WorkerRow.role, WorkerRow.education, WorkerRow.birth_year, WorkerRow.cross_appointed
    ).where(_in_scope(WorkerRow.path, scope), _serving_on(day))
    facts = [
        community.WorkerFacts(
            role=role,  # type: ignore[arg-type]
            education=education,  # type: ignore[arg-type]
            birth_year=birth_year,
            cross_appointed=crossed,
        )
        for role, education, birth_year, crossed in await session.execute(query)
    ]
    return community.worker_stats(facts, on=day)


# -- social organisations ------------------------------------------------------------------


async def register_organisation(
    session: AsyncSession,
    *,
    principal: Principal,
    community_id: str,
    name: str,
    kind: str,
    member_count: int,
    registered_on: date,
    today: date | None = None,
) -> community.OrganisationSnapshot:
    """Register a social organisation with a current community; publishes
    ``organisation.registered``."""
    day = today or current_date()
    found = await _community_for_new_record(
        session, principal=principal, community_id=community_id, today=day
    )
    event = community.register_organisation(
        organisation_id=new_id(),
        community=found,
        name=name,
        kind=kind,
        member_count=member_count,
        registered_on=registered_on,
        today=day,
    )
    store.add_organisation(session, event)
    return event.organisation


async def get_organisation(
    session: AsyncSession, *, principal: Principal, organisation_id: str
) -> community.OrganisationSnapshot:
    """One organisation (404 when missing or outside the token's area)."""
    found = await store.get_organisation(session, organisation_id)
    if found is None:
        raise NotFound(f"no organisation {organisation_id}")
    ensure_area(principal, found.path)
    return found


async def list_organisations(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[community.OrganisationSnapshot]:
    """Organisations by id in scope, of one kind, after the id ``after``."""
    scope = await resolve_scope(session, principal=principal, within=within)
    query = select(OrganisationRow).where(_in_scope(OrganisationRow.path, scope))
    if kind is not None:
        query = query.where(OrganisationRow.kind == kind.strip().lower())
    if after is not None:
        query = query.where(OrganisationRow.id > after)
    rows = await session.scalars(query.order_by(OrganisationRow.id).limit(limit))
    return [store.organisation_snapshot(row) for row in rows]


# -- volunteers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerView:
    """A volunteer with the service hours logged so far."""

    volunteer: community.VolunteerSnapshot
    total_hours: float
    entries: int


async def register_volunteer(
    session: AsyncSession,
    *,
    principal: Principal,
    community_id: str,
    resident_id: str | None = None,
    organisation_id: str | None = None,
    registered_on: date,
    today: date | None = None,
) -> VolunteerView:
    """Register a volunteer with a current community (and maybe a team of that community);
    publishes ``volunteer.registered``."""
    day = today or current_date()
    found = await _community_for_new_record(
        session, principal=principal, community_id=community_id, today=day
    )
    team = (
        await store.get_organisation(session, organisation_id)
        if organisation_id is not None
        else None
    )
    event = community.register_volunteer(
        volunteer_id=new_id(),
        community=found,
        resident_id=resident_id,
        organisation=team,
        organisation_id=organisation_id,
        registered_on=registered_on,
        today=day,
    )
    store.add_volunteer(session, event)
    return VolunteerView(event.volunteer, 0.0, 0)


async def log_service_hours(
    session: AsyncSession,
    *,
    principal: Principal,
    volunteer_id: str,
    hours: float,
    served_on: date,
    today: date | None = None,
) -> tuple[community.HoursLogged, VolunteerView]:
    """Log a volunteer's service hours; publishes ``volunteer.hours_logged``. Entries of one
    volunteer are serialised (row lock) so a day's total is checked against what is stored."""
    volunteer = await store.get_volunteer(session, volunteer_id, for_update=True)
    if volunteer is None:
        raise NotFound(f"no volunteer {volunteer_id}")
    ensure_area(principal, volunteer.path)
    event = community.log_hours(
        volunteer=volunteer,
        entry_id=new_id(),
        hours=hours,
        served_on=served_on,
        already_logged_that_day=await store.hours_on(session, volunteer_id, served_on),
        today=today or current_date(),
    )
    store.add_hours(session, event)
    await session.flush()
    return event, await _volunteer_view(session, volunteer)


def _hours_totals() -> Select[str, float, int]:
    return select(
        VolunteerHoursRow.volunteer_id,
        func.coalesce(func.sum(VolunteerHoursRow.hours), 0.0),
        func.count(VolunteerHoursRow.id),
    ).group_by(VolunteerHoursRow.volunteer_id)


async def _volunteer_view(
    session: AsyncSession, volunteer: community.VolunteerSnapshot
) -> VolunteerView:
    totals = (
        await session.execute(_hours_totals().where(VolunteerHoursRow.volunteer_id == volunteer.id))
    ).first()
    if totals is None:
        return VolunteerView(volunteer, 0.0, 0)
    return VolunteerView(volunteer, round(float(totals[1]), 2), int(totals[2]))


async def get_volunteer(
    session: AsyncSession, *, principal: Principal, volunteer_id: str
) -> VolunteerView:
    """One volunteer with total hours (404 when missing or outside the token's area)."""
    found = await store.get_volunteer(session, volunteer_id)
    if found is None:
        raise NotFound(f"no volunteer {volunteer_id}")
    ensure_area(principal, found.path)
    return await _volunteer_view(session, found)


async def list_volunteers(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    organisation_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[VolunteerView]:
    """Volunteers by id in scope (maybe of one team), with their total hours, after the id
    ``after``."""
    scope = await resolve_scope(session, principal=principal, within=within)
    query = select(VolunteerRow).where(_in_scope(VolunteerRow.path, scope))
    if organisation_id is not None:
        query = query.where(VolunteerRow.organisation_id == organisation_id)
    if after is not None:
        query = query.where(VolunteerRow.id > after)
    rows = list((await session.scalars(query.order_by(VolunteerRow.id).limit(limit))).all())
    totals: dict[str, tuple[float, int]] = {}
    if rows:
        found = await session.execute(
            _hours_totals().where(VolunteerHoursRow.volunteer_id.in_([row.id for row in rows]))
        )
        totals = {vid: (round(float(hours), 2), int(n)) for vid, hours, n in found}
    return [
        VolunteerView(store.volunteer_snapshot(row), *totals.get(row.id, (0.0, 0))) for row in rows
    ]
