"""Tables of community workers, social organisations, volunteers and their hours, their
repository functions, and the mapping of their domain events (:mod:`registry.domain.community`)
to the integration events of ``shared.contracts.registry``.

Each record keeps its community's id and stored path (:mod:`registry.adapters.paths`), so an
area subtree is a prefix match without a join; a community's path never changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.base import Base
from registry.adapters.paths import path_ids, path_text
from registry.domain import community
from shared.contracts import registry as contracts
from shared.unit_of_work import IntegrationEvent, Translations

HOURS = Numeric(4, 2, asdecimal=False)
"""Service hours to the hundredth of an hour (at most 24 per entry)."""


def now() -> datetime:
    """The current instant (UTC), for ``created_at``/``logged_at`` columns."""
    return datetime.now(UTC)


# -- tables --------------------------------------------------------------------------------


class WorkerRow(Base):
    """A community worker's appointment; serving while ``left_on`` is null (or not past)."""

    __tablename__ = "community_worker"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(32), index=True)
    appointment: Mapped[str] = mapped_column(String(16))
    education: Mapped[str] = mapped_column(String(16))
    birth_year: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(8))
    cross_appointed: Mapped[bool] = mapped_column(Boolean)
    appointed_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganisationRow(Base):
    """A social organisation registered with a community."""

    __tablename__ = "social_organisation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    member_count: Mapped[int] = mapped_column(Integer)
    registered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VolunteerRow(Base):
    """A volunteer registered with a community, maybe a resident and a team member."""

    __tablename__ = "volunteer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    resident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("social_organisation.id"), index=True
    )
    registered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VolunteerHoursRow(Base):
    """One log entry of a volunteer's service hours."""

    __tablename__ = "volunteer_hours"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volunteer.id", ondelete="CASCADE"), index=True
    )
    hours: Mapped[float] = mapped_column(HOURS)
    served_on: Mapped[date] = mapped_column(Date, index=True)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- repository ----------------------------------------------------------------------------


def worker_snapshot(row: WorkerRow) -> community.WorkerSnapshot:
    """The domain state of a stored appointment."""
    return community.WorkerSnapshot(
        id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        role=row.role,  # type: ignore[arg-type]
        appointment=row.appointment,  # type: ignore[arg-type]
        education=row.education,  # type: ignore[arg-type]
        birth_year=row.birth_year,
        sex=row.sex,  # type: ignore[arg-type]
        cross_appointed=row.cross_appointed,
        appointed_on=row.appointed_on,
        left_on=row.left_on,
    )


async def get_worker(
    session: AsyncSession, worker_id: str, *, for_update: bool = False
) -> community.Worker | None:
    """An appointment, or None; ``for_update`` locks its row until commit."""
    row = await session.get(WorkerRow, worker_id, with_for_update=for_update or None)
    return community.Worker(worker_snapshot(row)) if row is not None else None


async def save_worker(session: AsyncSession, worker: community.Worker) -> None:
    """Insert or update an appointment (its events go with the unit of work)."""
    state = worker.state
    row = await session.get(WorkerRow, state.id)
    if row is None:
        row = WorkerRow(id=state.id, created_at=now())
        session.add(row)
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.role = state.role
    row.appointment = state.appointment
    row.education = state.education
    row.birth_year = state.birth_year
    row.sex = state.sex
    row.cross_appointed = state.cross_appointed
    row.appointed_on = state.appointed_on
    row.left_on = state.left_on


def organisation_snapshot(row: OrganisationRow) -> community.OrganisationSnapshot:
    """The domain state of a stored organisation."""
    return community.OrganisationSnapshot(
        id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        name=row.name,
        kind=row.kind,
        member_count=row.member_count,
        registered_on=row.registered_on,
    )


async def get_organisation(
    session: AsyncSession, organisation_id: str
) -> community.OrganisationSnapshot | None:
    """An organisation, or None."""
    row = await session.get(OrganisationRow, organisation_id)
    return organisation_snapshot(row) if row is not None else None


def add_organisation(session: AsyncSession, event: community.OrganisationRegistered) -> None:
    """Store a newly registered organisation."""
    state = event.organisation
    session.add(
        OrganisationRow(
            id=state.id,
            community_id=state.community_id,
            path=path_text(state.path),
            name=state.name,
            kind=state.kind,
            member_count=state.member_count,
            registered_on=state.registered_on,
            created_at=now(),
        )
    )


def volunteer_snapshot(row: VolunteerRow) -> community.VolunteerSnapshot:
    """The domain state of a stored volunteer."""
    return community.VolunteerSnapshot(
        id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        resident_id=row.resident_id,
        organisation_id=row.organisation_id,
        registered_on=row.registered_on,
    )


async def get_volunteer(
    session: AsyncSession, volunteer_id: str, *, for_update: bool = False
) -> community.VolunteerSnapshot | None:
    """A volunteer, or None; ``for_update`` locks the row (serialising a volunteer's hours)."""
    row = await session.get(VolunteerRow, volunteer_id, with_for_update=for_update or None)
    return volunteer_snapshot(row) if row is not None else None


def add_volunteer(session: AsyncSession, event: community.VolunteerRegistered) -> None:
    """Store a newly registered volunteer."""
    state = event.volunteer
    session.add(
        VolunteerRow(
            id=state.id,
            community_id=state.community_id,
            path=path_text(state.path),
            resident_id=state.resident_id,
            organisation_id=state.organisation_id,
            registered_on=state.registered_on,
            created_at=now(),
        )
    )


async def hours_on(session: AsyncSession, volunteer_id: str, day: date) -> list[float]:
    """Hours already logged by a volunteer for ``day``."""
    rows = await session.scalars(
        select(VolunteerHoursRow.hours).where(
            VolunteerHoursRow.volunteer_id == volunteer_id, VolunteerHoursRow.served_on == day
        )
    )
    return [float(hours) for hours in rows]


def add_hours(session: AsyncSession, event: community.HoursLogged) -> None:
    """Store a log entry of service hours."""
    session.add(
        VolunteerHoursRow(
            id=event.entry_id,
            volunteer_id=event.volunteer.id,
            hours=event.hours,
            served_on=event.served_on,
            logged_at=now(),
        )
    )


# -- domain events → integration events ----------------------------------------------------


def _appointed(event: community.WorkerAppointed) -> IntegrationEvent:
    w = event.worker
    payload = contracts.WorkerAppointed(
        worker_id=w.id,
        community_id=w.community_id,
        path=list(w.path),
        role=w.role,
        appointment=w.appointment,
        education=w.education,
        birth_year=w.birth_year,
        sex=w.sex,
        cross_appointed=w.cross_appointed,
        appointed_on=w.appointed_on,
    )
    return payload, w.id


def _left(event: community.WorkerLeft) -> IntegrationEvent:
    w = event.worker
    assert w.left_on is not None
    payload = contracts.WorkerLeft(
        worker_id=w.id,
        community_id=w.community_id,
        path=list(w.path),
        role=w.role,
        left_on=w.left_on,
    )
    return payload, w.id


def _organisation_registered(event: community.OrganisationRegistered) -> IntegrationEvent:
    o = event.organisation
    payload = contracts.OrganisationRegistered(
        organisation_id=o.id,
        community_id=o.community_id,
        path=list(o.path),
        kind=o.kind,
        member_count=o.member_count,
        registered_on=o.registered_on,
    )
    return payload, o.id


def _volunteer_registered(event: community.VolunteerRegistered) -> IntegrationEvent:
    v = event.volunteer
    payload = contracts.VolunteerRegistered(
        volunteer_id=v.id,
        resident_id=v.resident_id,
        community_id=v.community_id,
        path=list(v.path),
        organisation_id=v.organisation_id,
        registered_on=v.registered_on,
    )
    return payload, v.id


def _hours_logged(event: community.HoursLogged) -> IntegrationEvent:
    v = event.volunteer
    payload = contracts.ServiceHoursLogged(
        volunteer_id=v.id,
        entry_id=event.entry_id,
        community_id=v.community_id,
        path=list(v.path),
        hours=event.hours,
        served_on=event.served_on,
    )
    return payload, v.id


TRANSLATIONS: Translations = {
    community.WorkerAppointed: _appointed,
    community.WorkerLeft: _left,
    community.OrganisationRegistered: _organisation_registered,
    community.VolunteerRegistered: _volunteer_registered,
    community.HoursLogged: _hours_logged,
}
"""Worker, organisation and volunteer domain events → integration events (partition key: the
worker's, organisation's or volunteer's id)."""
