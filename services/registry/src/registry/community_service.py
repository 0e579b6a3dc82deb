"""Use cases for the people and bodies of a community: community workers' appointments, social
organisations, volunteers and their service hours (commands), and their reads and worker
statistics (queries).

A command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and keyword-only
arguments, and hands the unit the domain events of :mod:`registry.domain.community` (a
:class:`~registry.domain.community.Worker` records its own; the other rules return theirs);
the unit writes their integration events with the change. Queries take a session. Every use
case confines the caller's :class:`~shared.auth.Principal` to its area: a record, or a
community, outside the token's area is reported as not found (404). ``record_id`` lets an
import choose a stable id (default: a new UUID).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import area_service
from registry.adapters import community as store
from registry.adapters.community import (
    OrganisationRow,
    VolunteerHoursRow,
    VolunteerRow,
    WorkerRow,
)
from registry.adapters.paths import in_subtree, path_ids
from registry.adapters.people import ResidentRow
from registry.domain import community
from shared.auth import Principal, ensure_area
from shared.contracts.registry import Education, Sex, WorkerRole
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class VolunteerView:
    """A volunteer with the service hours logged so far."""

    volunteer: community.VolunteerSnapshot
    total_hours: float
    entries: int


@dataclass(frozen=True)
class LoggedHours:
    """A logged entry of service hours and the volunteer it was logged for, with the new
    totals."""

    entry: community.HoursLogged
    volunteer: VolunteerView


def _new_id() -> str:
    return str(uuid.uuid4())


# -- community workers ---------------------------------------------------------------------


async def appoint_worker(
    uow: UnitOfWork,
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
    record_id: str | None = None,
) -> community.WorkerSnapshot:
    """Record a worker's appointment in a current community (``WorkerAppointed``)."""
    day = today or date.today()
    found = await area_service.community_for_new_record(
        uow.session, principal=principal, community_id=community_id, today=day
    )
    worker = community.Worker.appoint(
        worker_id=record_id or _new_id(),
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
    uow.track(worker)
    await store.save_worker(uow.session, worker)
    return worker.state


async def worker_leaves(
    uow: UnitOfWork,
    *,
    principal: Principal,
    worker_id: str,
    left_on: date,
    today: date | None = None,
) -> community.WorkerSnapshot:
    """End an appointment (``WorkerLeft``; 409 when already left)."""
    worker = await _worker(uow.session, principal=principal, worker_id=worker_id, for_update=True)
    uow.track(worker)
    worker.leave(left_on=left_on, today=today or date.today())
    await store.save_worker(uow.session, worker)
    return worker.state


async def _worker(
    session: AsyncSession, *, principal: Principal, worker_id: str, for_update: bool = False
) -> community.Worker:
    worker = await store.get_worker(session, worker_id, for_update=for_update)
    if worker is None:
        raise NotFound(f"no worker {worker_id}")
    ensure_area(principal, worker.state.path)
    return worker


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
    scope = await area_service.scope_path(session, principal=principal, within=within)
    query = select(WorkerRow).where(in_subtree(WorkerRow.path, scope))
    if role is not None:
        query = query.where(WorkerRow.role == role)
    if appointment is not None:
        query = query.where(WorkerRow.appointment == appointment)
    if current:
        query = query.where(_serving_on(today or date.today()))
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
    day = as_of or date.today()
    scope = await area_service.scope_path(session, principal=principal, within=within)
    query = select(
        WorkerRow.role, WorkerRow.education, WorkerRow.birth_year, WorkerRow.cross_appointed
    ).where(in_subtree(WorkerRow.path, scope), _serving_on(day))
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
    uow: UnitOfWork,
    *,
    principal: Principal,
    community_id: str,
    name: str,
    kind: str,
    member_count: int,
    registered_on: date,
    today: date | None = None,
    record_id: str | None = None,
) -> community.OrganisationSnapshot:
    """Register a social organisation with a current community (``OrganisationRegistered``)."""
    day = today or date.today()
    found = await area_service.community_for_new_record(
        uow.session, principal=principal, community_id=community_id, today=day
    )
    registered = community.register_organisation(
        organisation_id=record_id or _new_id(),
        community=found,
        name=name,
        kind=kind,
        member_count=member_count,
        registered_on=registered_on,
        today=day,
    )
    store.add_organisation(uow.session, registered)
    uow.record(registered)
    return registered.organisation


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
    scope = await area_service.scope_path(session, principal=principal, within=within)
    query = select(OrganisationRow).where(in_subtree(OrganisationRow.path, scope))
    if kind is not None:
        query = query.where(OrganisationRow.kind == kind.strip().lower())
    if after is not None:
        query = query.where(OrganisationRow.id > after)
    rows = await session.scalars(query.order_by(OrganisationRow.id).limit(limit))
    return [store.organisation_snapshot(row) for row in rows]


# -- volunteers ----------------------------------------------------------------------------


async def register_volunteer(
    uow: UnitOfWork,
    *,
    principal: Principal,
    community_id: str,
    resident_id: str | None = None,
    organisation_id: str | None = None,
    registered_on: date,
    today: date | None = None,
    record_id: str | None = None,
) -> VolunteerView:
    """Register a volunteer with a current community, maybe in a team of that community
    (``VolunteerRegistered``)."""
    day = today or date.today()
    session = uow.session
    found = await area_service.community_for_new_record(
        session, principal=principal, community_id=community_id, today=day
    )
    if resident_id is not None:
        await _resident_in_area(session, resident_id, principal=principal)
    team = (
        await store.get_organisation(session, organisation_id)
        if organisation_id is not None
        else None
    )
    registered = community.register_volunteer(
        volunteer_id=record_id or _new_id(),
        community=found,
        resident_id=resident_id,
        organisation=team,
        organisation_id=organisation_id,
        registered_on=registered_on,
        today=day,
    )
    store.add_volunteer(session, registered)
    uow.record(registered)
    return VolunteerView(registered.volunteer, 0.0, 0)


async def _resident_in_area(
    session: AsyncSession, resident_id: str, *, principal: Principal
) -> None:
    """A volunteer's resident must be registered within the caller's area: one answer (422 on
    ``resident_id``) whether there is no such resident or one elsewhere."""
    path = await session.scalar(
        select(ResidentRow.community_path).where(ResidentRow.id == resident_id)
    )
    if path is None or not principal.may_access(path_ids(path)):
        raise InvalidInput(
            "no such resident",
            errors=[FieldError("resident_id", "no such resident", "not_found")],
        )


async def log_service_hours(
    uow: UnitOfWork,
    *,
    principal: Principal,
    volunteer_id: str,
    hours: float,
    served_on: date,
    today: date | None = None,
) -> LoggedHours:
    """Log a volunteer's service hours (``HoursLogged``). Entries of one volunteer are
    serialised (row lock) so a day's total is checked against what is stored."""
    session = uow.session
    volunteer = await store.get_volunteer(session, volunteer_id, for_update=True)
    if volunteer is None:
        raise NotFound(f"no volunteer {volunteer_id}")
    ensure_area(principal, volunteer.path)
    logged = community.log_hours(
        volunteer=volunteer,
        entry_id=_new_id(),
        hours=hours,
        served_on=served_on,
        already_logged_that_day=await store.hours_on(session, volunteer_id, served_on),
        today=today or date.today(),
    )
    store.add_hours(session, logged)
    uow.record(logged)
    await uow.flush()
    return LoggedHours(logged, await _volunteer_view(session, volunteer))


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
    scope = await area_service.scope_path(session, principal=principal, within=within)
    query = select(VolunteerRow).where(in_subtree(VolunteerRow.path, scope))
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
