"""Routes for community workers, social organisations and volunteers, with their request and
response bodies: thin, each parses, calls one use case, and maps the result. Writes run
through the command runner (:data:`registry.api.deps.WriteCommand`): one transaction, an
``Idempotency-Key``, the events in the outbox."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from registry import community_service as service
from registry.api.bodies import Body
from registry.api.deps import AreaId, AsOf, Reader, Within, WriteCommand, after_id
from registry.domain import community
from shared.contracts.registry import Education, Sex, WorkerRole
from shared.inputs import Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter()
Appointment = community.Appointment


# -- bodies --------------------------------------------------------------------------------


class WorkerIn(Body):
    """A community worker's appointment to record."""

    model_config = ConfigDict(extra="forbid")

    community_id: AreaId
    role: WorkerRole = Field(description="Role.")
    appointment: Appointment = Field(description="Elected (committee, party) or hired.")
    education: Education = Field(description="Highest education completed.")
    birth_year: StrictInt = Field(ge=1900, le=2100, description="Year of birth (no day or month).")
    sex: Sex = Field(description="Sex.")
    cross_appointed: StrictBool = Field(
        default=False, description="Holds a party-organisation and a committee post together."
    )
    appointed_on: date = Field(description="Start of the appointment (not in the future).")


class WorkerLeave(Body):
    """Ending an appointment."""

    model_config = ConfigDict(extra="forbid")

    left_on: date = Field(description="Last day in the role (not before the appointment).")


class WorkerOut(BaseModel):
    """A community worker's appointment as the API shows it."""

    id: str
    community_id: str
    path: list[str]
    role: WorkerRole
    appointment: Appointment
    education: Education
    birth_year: int
    sex: Sex
    cross_appointed: bool
    appointed_on: date
    left_on: date | None

    @classmethod
    def of(cls, state: community.WorkerSnapshot) -> WorkerOut:
        """The API view of an appointment."""
        return cls(
            id=state.id,
            community_id=state.community_id,
            path=list(state.path),
            role=state.role,
            appointment=state.appointment,
            education=state.education,
            birth_year=state.birth_year,
            sex=state.sex,
            cross_appointed=state.cross_appointed,
            appointed_on=state.appointed_on,
            left_on=state.left_on,
        )


class WorkerPage(Page[WorkerOut]):
    """One page of workers; pass ``next_cursor`` as ``cursor`` for the next."""


class WorkerStatsOut(BaseModel):
    """Figures of the workers serving on one day (Shenyang reports 87.2 % with a college degree
    or above and an average age of 38; Jincheng targets ≥ 50 % cross appointments)."""

    as_of: date
    count: int
    college_or_above: int = Field(description="Workers with a college degree or above.")
    college_or_above_share: float | None
    average_age: float | None = Field(description="Average of (year of as_of − birth year).")
    cross_appointment_base: int = Field(description="Holders of party or committee posts.")
    cross_appointed: int
    cross_appointed_share: float | None = Field(description="Of the holders of such posts.")
    cross_appointment_target: float
    meets_cross_appointment_target: bool | None


class OrganisationIn(Body):
    """A social organisation to register with a community."""

    model_config = ConfigDict(extra="forbid")

    community_id: AreaId
    name: Text = Field(min_length=1, max_length=200, description="Registered name.")
    kind: Text = Field(
        min_length=1,
        max_length=64,
        description="Kind (volunteer_team, elders_association, culture, sports …).",
    )
    member_count: StrictInt = Field(ge=0, le=10_000_000, description="Members at registration.")
    registered_on: date = Field(description="Registration date (not in the future).")


class OrganisationOut(BaseModel):
    """A social organisation as the API shows it."""

    id: str
    community_id: str
    path: list[str]
    name: str
    kind: str
    member_count: int
    registered_on: date

    @classmethod
    def of(cls, state: community.OrganisationSnapshot) -> OrganisationOut:
        """The API view of an organisation."""
        return cls(
            id=state.id,
            community_id=state.community_id,
            path=list(state.path),
            name=state.name,
            kind=state.kind,
            member_count=state.member_count,
            registered_on=state.registered_on,
        )


class OrganisationPage(Page[OrganisationOut]):
    """One page of organisations; pass ``next_cursor`` as ``cursor`` for the next."""


class VolunteerIn(Body):
    """A volunteer to register with a community."""

    model_config = ConfigDict(extra="forbid")

    community_id: AreaId
    resident_id: Text | None = Field(
        default=None, min_length=1, max_length=64, description="The resident, if registered."
    )
    organisation_id: Text | None = Field(
        default=None, min_length=1, max_length=36, description="Volunteer team of the community."
    )
    registered_on: date = Field(description="Registration date (not in the future).")


class HoursIn(Body):
    """Service hours to log."""

    model_config = ConfigDict(extra="forbid")

    hours: float = Field(
        allow_inf_nan=False, description="Hours served: more than 0, at most 24 (0.01 h)."
    )
    served_on: date = Field(description="Day of service (not in the future).")


class VolunteerOut(BaseModel):
    """A volunteer with the service hours logged so far."""

    id: str
    community_id: str
    path: list[str]
    resident_id: str | None
    organisation_id: str | None
    registered_on: date
    total_hours: float
    entries: int = Field(description="Hour log entries.")

    @classmethod
    def of(cls, view: service.VolunteerView) -> VolunteerOut:
        """The API view of a volunteer."""
        state = view.volunteer
        return cls(
            id=state.id,
            community_id=state.community_id,
            path=list(state.path),
            resident_id=state.resident_id,
            organisation_id=state.organisation_id,
            registered_on=state.registered_on,
            total_hours=view.total_hours,
            entries=view.entries,
        )


class VolunteerPage(Page[VolunteerOut]):
    """One page of volunteers; pass ``next_cursor`` as ``cursor`` for the next."""


class HoursOut(BaseModel):
    """A logged entry of service hours, and the volunteer's new total."""

    entry_id: str
    volunteer_id: str
    hours: float
    served_on: date
    total_hours: float

    @classmethod
    def of(cls, logged: service.LoggedHours) -> HoursOut:
        """The API view of a logged entry."""
        return cls(
            entry_id=logged.entry.entry_id,
            volunteer_id=logged.entry.volunteer.id,
            hours=logged.entry.hours,
            served_on=logged.entry.served_on,
            total_hours=logged.volunteer.total_hours,
        )


# -- workers -------------------------------------------------------------------------------


@router.post(
    "/workers", status_code=status.HTTP_201_CREATED, response_model=WorkerOut, tags=["workers"]
)
async def appoint_worker(body: WorkerIn, command: WriteCommand) -> JSONResponse:
    """Record an appointment in a current community (publishes ``worker.appointed``)."""
    return await command.run(
        service.appoint_worker,
        WorkerOut.of,
        status=status.HTTP_201_CREATED,
        community_id=body.community_id,
        role=body.role,
        appointment=body.appointment,
        education=body.education,
        birth_year=body.birth_year,
        sex=body.sex,
        cross_appointed=body.cross_appointed,
        appointed_on=body.appointed_on,
    )


@router.get("/workers", response_model=WorkerPage, tags=["workers"])
async def list_workers(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    role: Annotated[WorkerRole | None, Query(description="Only this role.")] = None,
    appointment: Annotated[Appointment | None, Query(description="Elected or hired.")] = None,
    current: Annotated[bool, Query(description="Only workers serving today.")] = False,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> WorkerPage:
    """Appointments by id, confined to the token's area, with cursor pagination."""
    rows = await service.list_workers(
        session,
        principal=principal,
        within=within,
        role=role,
        appointment=appointment,
        current=current,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return WorkerPage(items=[WorkerOut.of(state) for state in page], next_cursor=next_cursor)


@router.get("/workers/stats", response_model=WorkerStatsOut, tags=["workers"])
async def worker_stats(
    session: SessionDep, principal: Reader, within: Within = None, as_of: AsOf = None
) -> WorkerStatsOut:
    """Count, share with a college degree or above, average age and share cross-appointed of
    the workers serving on ``as_of`` (default today)."""
    found = await service.worker_stats(session, principal=principal, within=within, as_of=as_of)
    return WorkerStatsOut(
        as_of=found.on,
        count=found.count,
        college_or_above=found.college_or_above,
        college_or_above_share=found.college_or_above_share,
        average_age=found.average_age,
        cross_appointment_base=found.cross_appointment_base,
        cross_appointed=found.cross_appointed,
        cross_appointed_share=found.cross_appointed_share,
        cross_appointment_target=found.cross_appointment_target,
        meets_cross_appointment_target=found.meets_cross_appointment_target,
    )


@router.get("/workers/{worker_id}", response_model=WorkerOut, tags=["workers"])
async def get_worker(worker_id: str, session: SessionDep, principal: Reader) -> WorkerOut:
    """One appointment; 404 if it does not exist or lies outside the token's area."""
    return WorkerOut.of(await service.get_worker(session, principal=principal, worker_id=worker_id))


@router.post("/workers/{worker_id}/leave", response_model=WorkerOut, tags=["workers"])
async def worker_leaves(worker_id: str, body: WorkerLeave, command: WriteCommand) -> JSONResponse:
    """End an appointment (publishes ``worker.left``); 409 when it has already ended."""
    return await command.run(
        service.worker_leaves, WorkerOut.of, worker_id=worker_id, left_on=body.left_on
    )


# -- social organisations ------------------------------------------------------------------


@router.post(
    "/organisations",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganisationOut,
    tags=["organisations"],
)
async def register_organisation(body: OrganisationIn, command: WriteCommand) -> JSONResponse:
    """Register a social organisation with a current community (publishes
    ``organisation.registered``)."""
    return await command.run(
        service.register_organisation,
        OrganisationOut.of,
        status=status.HTTP_201_CREATED,
        community_id=body.community_id,
        name=body.name,
        kind=body.kind,
        member_count=body.member_count,
        registered_on=body.registered_on,
    )


@router.get("/organisations", response_model=OrganisationPage, tags=["organisations"])
async def list_organisations(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    kind: Annotated[Text | None, Query(max_length=64, description="Only this kind.")] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> OrganisationPage:
    """Organisations by id, confined to the token's area, with cursor pagination."""
    rows = await service.list_organisations(
        session,
        principal=principal,
        within=within,
        kind=kind,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return OrganisationPage(
        items=[OrganisationOut.of(state) for state in page], next_cursor=next_cursor
    )


@router.get(
    "/organisations/{organisation_id}", response_model=OrganisationOut, tags=["organisations"]
)
async def get_organisation(
    organisation_id: str, session: SessionDep, principal: Reader
) -> OrganisationOut:
    """One organisation; 404 if it does not exist or lies outside the token's area."""
    return OrganisationOut.of(
        await service.get_organisation(
            session, principal=principal, organisation_id=organisation_id
        )
    )


# -- volunteers ----------------------------------------------------------------------------


@router.post(
    "/volunteers",
    status_code=status.HTTP_201_CREATED,
    response_model=VolunteerOut,
    tags=["volunteers"],
)
async def register_volunteer(body: VolunteerIn, command: WriteCommand) -> JSONResponse:
    """Register a volunteer with a current community, maybe in one of its teams (publishes
    ``volunteer.registered``)."""
    return await command.run(
        service.register_volunteer,
        VolunteerOut.of,
        status=status.HTTP_201_CREATED,
        community_id=body.community_id,
        resident_id=body.resident_id,
        organisation_id=body.organisation_id,
        registered_on=body.registered_on,
    )


@router.get("/volunteers", response_model=VolunteerPage, tags=["volunteers"])
async def list_volunteers(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    organisation_id: Annotated[
        Text | None, Query(max_length=36, description="Only this team's members.")
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> VolunteerPage:
    """Volunteers by id with their total hours, confined to the token's area."""
    rows = await service.list_volunteers(
        session,
        principal=principal,
        within=within,
        organisation_id=organisation_id,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda view: [view.volunteer.id])
    return VolunteerPage(items=[VolunteerOut.of(view) for view in page], next_cursor=next_cursor)


@router.get("/volunteers/{volunteer_id}", response_model=VolunteerOut, tags=["volunteers"])
async def get_volunteer(volunteer_id: str, session: SessionDep, principal: Reader) -> VolunteerOut:
    """One volunteer with total hours; 404 if missing or outside the token's area."""
    return VolunteerOut.of(
        await service.get_volunteer(session, principal=principal, volunteer_id=volunteer_id)
    )


@router.post(
    "/volunteers/{volunteer_id}/hours",
    status_code=status.HTTP_201_CREATED,
    response_model=HoursOut,
    tags=["volunteers"],
)
async def log_service_hours(
    volunteer_id: str, body: HoursIn, command: WriteCommand
) -> JSONResponse:
    """Log service hours (publishes ``volunteer.hours_logged``): more than 0 and at most 24 per
    entry, and at most 24 on one day."""
    return await command.run(
        service.log_service_hours,
        HoursOut.of,
        status=status.HTTP_201_CREATED,
        volunteer_id=volunteer_id,
        hours=body.hours,
        served_on=body.served_on,
    )
