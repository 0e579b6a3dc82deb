"""Tables and repositories of facilities, community workers, organisations and volunteers, and
the mapping of their domain events to integration events (``shared.contracts.registry``).

Each record keeps its community's id and ``path`` (``/city/district/street/community/``, as
``area.path``) so an area subtree is a prefix match without a join; a community's path never
changes (merges and splits create new communities).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.tables import AreaRow, Base
from registry.domain import community, facilities
from shared import outbox
from shared.contracts import CONTRACTS, EventPayload
from shared.contracts import registry as contracts

AREA_M2 = Numeric(9, 2, asdecimal=False)
"""Floor areas to the hundredth of a m² (below 100,000 per room purpose), exact in sums."""
HOURS = Numeric(4, 2, asdecimal=False)
"""Service hours to the hundredth of an hour (at most 24 per entry)."""


def path_text(path: Iterable[str]) -> str:
    """The stored form of a path: ``/city/district/street/community/``."""
    return "/" + "/".join(path) + "/"


def path_ids(text: str) -> tuple[str, ...]:
    """The ids of a stored path, from the city down."""
    return tuple(part for part in text.split("/") if part)


def now() -> datetime:
    """The current instant (UTC), for ``created_at``/``updated_at`` columns."""
    return datetime.now(UTC)


# -- tables --------------------------------------------------------------------------------


class FacilityRow(Base):
    """A community facility; open while ``closed_on`` is null (or later than the day asked
    about). Its rooms are :class:`FacilityRoomRow` rows."""

    __tablename__ = "facility"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FacilityRoomRow(Base):
    """Floor area of one room purpose of a facility (one row per purpose)."""

    __tablename__ = "facility_room"

    facility_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("facility.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    area_m2: Mapped[float] = mapped_column(AREA_M2)


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


# -- repositories --------------------------------------------------------------------------


def community_ref(row: AreaRow) -> community.CommunityRef:
    """The rules' view of a stored area."""
    return community.CommunityRef(
        id=row.id,
        level=row.level,
        path=path_ids(row.path),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        household_count=row.household_count,
    )


async def get_community(session: AsyncSession, community_id: str) -> community.CommunityRef | None:
    """The area ``community_id`` (of any level: the rules check it is a community), or None."""
    row = await session.get(AreaRow, community_id)
    return community_ref(row) if row is not None else None


async def get_facility(
    session: AsyncSession, facility_id: str, *, for_update: bool = False
) -> facilities.Facility | None:
    """A facility with its rooms, or None; ``for_update`` locks its row until commit."""
    row = await session.get(FacilityRow, facility_id, with_for_update=for_update or None)
    if row is None:
        return None
    rooms = await session.execute(
        select(FacilityRoomRow.purpose, FacilityRoomRow.area_m2).where(
            FacilityRoomRow.facility_id == facility_id
        )
    )
    return facilities.Facility(facility_snapshot(row, [(p, a) for p, a in rooms]))


def facility_snapshot(
    row: FacilityRow, rooms: Iterable[tuple[str, float]]
) -> facilities.FacilitySnapshot:
    """The domain state of a stored facility and its rooms."""
    return facilities.FacilitySnapshot(
        id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        kind=row.kind,  # type: ignore[arg-type]
        rooms=tuple(sorted((purpose, float(area)) for purpose, area in rooms)),  # type: ignore[misc]
        opened_on=row.opened_on,
        closed_on=row.closed_on,
        version=row.version,
    )


async def save_facility(session: AsyncSession, facility: facilities.Facility) -> None:
    """Insert or update a facility and its rooms, and stage its recorded events."""
    state = facility.state
    row = await session.get(FacilityRow, state.id)
    moment = now()
    if row is None:
        row = FacilityRow(id=state.id, created_at=moment)
        session.add(row)
    else:
        await session.execute(
            delete(FacilityRoomRow).where(FacilityRoomRow.facility_id == state.id)
        )
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.kind = state.kind
    row.opened_on = state.opened_on
    row.closed_on = state.closed_on
    row.version = state.version
    row.updated_at = moment
    await session.flush()  # the facility row first: its rooms refer to it
    session.add_all(
        FacilityRoomRow(facility_id=state.id, purpose=purpose, area_m2=area)
        for purpose, area in state.rooms
    )
    publish(session, facility.events)
    facility.events.clear()


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
    """Insert or update an appointment and stage its recorded events."""
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
    publish(session, worker.events)
    worker.events.clear()


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
    """Store a newly registered organisation and stage its event."""
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
    publish(session, [event])


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
    """Store a newly registered volunteer and stage its event."""
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
    publish(session, [event])


async def hours_on(session: AsyncSession, volunteer_id: str, day: date) -> list[float]:
    """Hours already logged by a volunteer for ``day``."""
    rows = await session.scalars(
        select(VolunteerHoursRow.hours).where(
            VolunteerHoursRow.volunteer_id == volunteer_id, VolunteerHoursRow.served_on == day
        )
    )
    return [float(hours) for hours in rows]


def add_hours(session: AsyncSession, event: community.HoursLogged) -> None:
    """Store a log entry of service hours and stage its event."""
    session.add(
        VolunteerHoursRow(
            id=event.entry_id,
            volunteer_id=event.volunteer.id,
            hours=event.hours,
            served_on=event.served_on,
            logged_at=now(),
        )
    )
    publish(session, [event])


# -- domain events → integration events ----------------------------------------------------

DomainEvent = (
    facilities.FacilityEvent
    | community.WorkerAppointed
    | community.WorkerLeft
    | community.OrganisationRegistered
    | community.VolunteerRegistered
    | community.HoursLogged
)


def _facility_fields(state: facilities.FacilitySnapshot) -> dict[str, object]:
    return {
        "facility_id": state.id,
        "community_id": state.community_id,
        "path": list(state.path),
        "kind": state.kind,
        "rooms": [contracts.Room(purpose=purpose, area_m2=area) for purpose, area in state.rooms],
        "total_area_m2": state.total_area_m2,
        "opened_on": state.opened_on,
        "version": state.version,
    }


def integration_event(event: DomainEvent) -> tuple[EventPayload, str]:
    """The integration payload of a domain event and its aggregate id (the partition key)."""
    match event:
        case facilities.FacilityOpened(facility=state):
            return contracts.FacilityOpened.model_validate(_facility_fields(state)), state.id
        case facilities.FacilityUpdated(facility=state):
            return contracts.FacilityUpdated.model_validate(_facility_fields(state)), state.id
        case facilities.FacilityClosed(facility=state):
            assert state.closed_on is not None
            fields = {**_facility_fields(state), "closed_on": state.closed_on}
            return contracts.FacilityClosed.model_validate(fields), state.id
        case community.WorkerAppointed(worker=w):
            payload: EventPayload = contracts.WorkerAppointed(
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
        case community.WorkerLeft(worker=w):
            assert w.left_on is not None
            payload = contracts.WorkerLeft(
                worker_id=w.id,
                community_id=w.community_id,
                path=list(w.path),
                role=w.role,
                left_on=w.left_on,
            )
            return payload, w.id
        case community.OrganisationRegistered(organisation=o):
            payload = contracts.OrganisationRegistered(
                organisation_id=o.id,
                community_id=o.community_id,
                path=list(o.path),
                kind=o.kind,
                member_count=o.member_count,
                registered_on=o.registered_on,
            )
            return payload, o.id
        case community.VolunteerRegistered(volunteer=v):
            payload = contracts.VolunteerRegistered(
                volunteer_id=v.id,
                resident_id=v.resident_id,
                community_id=v.community_id,
                path=list(v.path),
                organisation_id=v.organisation_id,
                registered_on=v.registered_on,
            )
            return payload, v.id
        case community.HoursLogged(volunteer=v, entry_id=entry_id, hours=hours, served_on=day):
            payload = contracts.ServiceHoursLogged(
                volunteer_id=v.id,
                entry_id=entry_id,
                community_id=v.community_id,
                path=list(v.path),
                hours=hours,
                served_on=day,
            )
            return payload, v.id
        case _:  # pragma: no cover - the union above is exhaustive
            raise TypeError(f"no integration event for {type(event).__name__}")


def publish(session: AsyncSession, events: Iterable[DomainEvent]) -> None:
    """Stage the integration events of ``events`` in the session's outbox, in order."""
    for event in events:
        payload, aggregate_id = integration_event(event)
        outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=aggregate_id))
