"""Routes for community facilities and their floor-area statistics, with their request and
response bodies: thin, each parses, calls one use case, and maps the result. Writes run
through the command runner (:data:`registry.api.deps.WriteCommand`): one transaction, an
``Idempotency-Key``, the events in the outbox."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from registry import facility_service as service
from registry.api.bodies import Body
from registry.api.deps import AreaId, AsOf, Reader, Within, WriteCommand, after_id
from registry.domain import facilities
from shared.contracts.registry import FacilityKind, RoomPurpose
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(prefix="/facilities", tags=["facilities"])


# -- bodies --------------------------------------------------------------------------------


class RoomIn(Body):
    """Floor area of the rooms of one purpose."""

    model_config = ConfigDict(extra="forbid")

    purpose: RoomPurpose = Field(description="What the rooms are used for (once per facility).")
    area_m2: float = Field(
        allow_inf_nan=False,
        description="Floor area in m², more than 0 and less than 100,000 (kept to 0.01 m²).",
    )


class FacilityIn(Body):
    """A facility to register as open."""

    model_config = ConfigDict(extra="forbid")

    community_id: AreaId
    kind: FacilityKind = Field(description="Kind of facility.")
    rooms: list[RoomIn] = Field(
        default_factory=list, max_length=50, description="Floor area by room purpose."
    )
    opened_on: date = Field(description="Opening date (not in the future).")


class FacilityPatch(Body):
    """Changes to a facility: a new kind and/or the whole new set of rooms."""

    model_config = ConfigDict(extra="forbid")

    kind: FacilityKind | None = Field(default=None, description="New kind.")
    rooms: list[RoomIn] | None = Field(
        default=None, max_length=50, description="Replaces every room of the facility."
    )


class FacilityClose(Body):
    """Closing a facility."""

    model_config = ConfigDict(extra="forbid")

    closed_on: date = Field(description="First day closed (not before opening, not future).")


class RoomOut(BaseModel):
    """Floor area of one room purpose."""

    purpose: RoomPurpose
    area_m2: float


class FacilityOut(BaseModel):
    """A facility as the API shows it."""

    id: str
    community_id: str
    path: list[str] = Field(description="Area ids from the city down to the community.")
    kind: FacilityKind
    rooms: list[RoomOut]
    total_area_m2: float = Field(description="Sum of the rooms' floor areas.")
    office_and_public_service_m2: float = Field(
        description="Floor area counting towards the ≥ 300 m² office and public service rule."
    )
    service_room_m2: float = Field(
        description="Floor area counting as supporting service rooms (m² per households rule)."
    )
    opened_on: date
    closed_on: date | None
    version: int

    @classmethod
    def of(cls, state: facilities.FacilitySnapshot) -> FacilityOut:
        """The API view of a facility."""
        return cls(
            id=state.id,
            community_id=state.community_id,
            path=list(state.path),
            kind=state.kind,
            rooms=[RoomOut(purpose=purpose, area_m2=area) for purpose, area in state.rooms],
            total_area_m2=state.total_area_m2,
            office_and_public_service_m2=facilities.office_and_public_service_m2(state.rooms),
            service_room_m2=facilities.service_room_m2(state.rooms),
            opened_on=state.opened_on,
            closed_on=state.closed_on,
            version=state.version,
        )


class FacilityPage(Page[FacilityOut]):
    """One page of facilities; pass ``next_cursor`` as ``cursor`` for the next."""


class MeetingAreaOut(BaseModel):
    """Which communities have enough office and public service rooms."""

    as_of: date
    threshold_m2: float
    communities: list[str] = Field(description="Ids of the communities meeting the threshold.")
    meeting: int = Field(description="How many communities meet the threshold.")
    total: int = Field(description="Current communities in scope.")
    share: float | None = Field(description="meeting / total; null without communities.")
    target_share: float = Field(description="Jincheng's target share (80 %).")


class NormOut(BaseModel):
    """The service-area norm applied."""

    m2: float
    per_households: int
    minimum_m2: float


class ServiceAreaItem(BaseModel):
    """One community's supporting service rooms against the norm."""

    community_id: str
    service_area_m2: float
    households: int | None = Field(description="Households registered with the community.")
    m2_per_households: float | None = Field(
        description="Service m² per `norm.per_households` households (per 150 by default)."
    )
    required_m2: float | None
    meets_standard: bool | None = Field(description="Null when the households are unknown.")


class ServiceAreaOut(BaseModel):
    """Supporting service-room area per households of every current community in scope."""

    as_of: date
    norm: NormOut
    communities: list[ServiceAreaItem]
    assessed: int = Field(description="Communities with a known household count.")
    meeting: int = Field(description="Communities meeting the norm.")
    share: float | None = Field(description="meeting / assessed.")
    target_share: float = Field(description="Jincheng's target share (80 % by 2007).")


def _rooms(rooms: list[RoomIn]) -> list[tuple[RoomPurpose, float]]:
    return [(room.purpose, room.area_m2) for room in rooms]


# -- routes --------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FacilityOut)
async def open_facility(body: FacilityIn, command: WriteCommand) -> JSONResponse:
    """Register an open facility of a current community (publishes ``facility.opened``)."""
    return await command.run(
        service.open_facility,
        FacilityOut.of,
        status=status.HTTP_201_CREATED,
        community_id=body.community_id,
        kind=body.kind,
        rooms=_rooms(body.rooms),
        opened_on=body.opened_on,
    )


@router.get("", response_model=FacilityPage)
async def list_facilities(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    kind: Annotated[FacilityKind | None, Query(description="Only this kind.")] = None,
    status_: Annotated[
        service.FacilityStatus | None, Query(alias="status", description="Open or closed.")
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> FacilityPage:
    """Facilities by id, confined to the token's area, with cursor pagination."""
    rows = await service.list_facilities(
        session,
        principal=principal,
        within=within,
        kind=kind,
        status=status_,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return FacilityPage(items=[FacilityOut.of(state) for state in page], next_cursor=next_cursor)


@router.get("/stats/communities-meeting-area", response_model=MeetingAreaOut)
async def communities_meeting_area(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    threshold_m2: Annotated[
        float, Query(ge=0, lt=10_000_000, description="Office and public service m² needed.")
    ] = facilities.DEFAULT_THRESHOLD_M2,
    as_of: AsOf = None,
) -> MeetingAreaOut:
    """Current communities with at least ``threshold_m2`` of office and public service rooms
    in open facilities (Jincheng: ≥ 300 m² in 80 % of communities)."""
    day = as_of or service.current_date()
    found = await service.communities_meeting_area(
        session, principal=principal, within=within, threshold_m2=threshold_m2, as_of=day
    )
    return MeetingAreaOut(
        as_of=day,
        threshold_m2=found.threshold_m2,
        communities=list(found.communities),
        meeting=found.meeting,
        total=found.total,
        share=found.share,
        target_share=facilities.AREA_SHARE_TARGET,
    )


@router.get("/stats/service-area", response_model=ServiceAreaOut)
async def service_area(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    norm_m2: Annotated[
        float, Query(ge=0, le=10_000, description="Service m² per `per_households` households.")
    ] = facilities.CITY_NORM.m2,
    per_households: Annotated[
        int, Query(ge=1, le=100_000, description="Households the norm's m² serve.")
    ] = facilities.CITY_NORM.per_households,
    minimum_m2: Annotated[
        float, Query(ge=0, le=100_000, description="Service m² every community needs at least.")
    ] = facilities.CITY_NORM.minimum_m2,
    as_of: AsOf = None,
) -> ServiceAreaOut:
    """Supporting service-room m² per households of every current community against the norm:
    25 m² per 150 households by default (the two cities); 20 per 100 in counties
    (``norm_m2=20&per_households=100``); at least 100 m² elsewhere (``norm_m2=0&minimum_m2=100``).
    """
    day = as_of or service.current_date()
    norm = facilities.ServiceAreaNorm(
        m2=norm_m2, per_households=per_households, minimum_m2=minimum_m2
    )
    report = await service.service_area(
        session, principal=principal, within=within, norm=norm, as_of=day
    )
    return ServiceAreaOut(
        as_of=day,
        norm=NormOut(m2=norm.m2, per_households=norm.per_households, minimum_m2=norm.minimum_m2),
        communities=[
            ServiceAreaItem(
                community_id=f.community_id,
                service_area_m2=f.service_area_m2,
                households=f.households,
                m2_per_households=f.m2_per_households,
                required_m2=f.required_m2,
                meets_standard=f.meets_standard,
            )
            for f in report.findings
        ],
        assessed=report.assessed,
        meeting=report.meeting,
        share=report.share,
        target_share=facilities.AREA_SHARE_TARGET,
    )


@router.get("/{facility_id}", response_model=FacilityOut)
async def get_facility(facility_id: str, session: SessionDep, principal: Reader) -> FacilityOut:
    """One facility; 404 if it does not exist or lies outside the token's area."""
    state = await service.get_facility(session, principal=principal, facility_id=facility_id)
    return FacilityOut.of(state)


@router.patch("/{facility_id}", response_model=FacilityOut)
async def update_facility(
    facility_id: str, body: FacilityPatch, command: WriteCommand
) -> JSONResponse:
    """Change the kind and/or replace the rooms (publishes ``facility.updated`` when something
    changed); 409 for a closed facility."""
    return await command.run(
        service.update_facility,
        FacilityOut.of,
        facility_id=facility_id,
        kind=body.kind,
        rooms=None if body.rooms is None else _rooms(body.rooms),
    )


@router.post("/{facility_id}/close", response_model=FacilityOut)
async def close_facility(
    facility_id: str, body: FacilityClose, command: WriteCommand
) -> JSONResponse:
    """Close a facility (publishes ``facility.closed``); 409 when it is already closed."""
    return await command.run(
        service.close_facility, FacilityOut.of, facility_id=facility_id, closed_on=body.closed_on
    )
