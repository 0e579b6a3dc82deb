"""Routes of centres, placements and waiting lists."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from eldercare import placements
from eldercare.api.deps import Reader, WriteCommand
from eldercare.domain.placements import Centre, CentreKind, PlacementSnapshot, PlacementStatus
from shared.audit import AuditTrail
from shared.contracts.eldercare import PlacementEndReason, PlacementKind
from shared.inputs import Text
from shared.runtime import SessionDep

router = APIRouter(tags=["placements"])


class CentreIn(BaseModel):
    """A day-care centre or institution to register."""

    model_config = ConfigDict(extra="forbid")

    kind: CentreKind
    name: Text = Field(min_length=1, max_length=200)
    community_id: Text = Field(
        min_length=1,
        max_length=32,
        description="A community the registry announced; the centre's path is derived from it.",
    )
    capacity: StrictInt = Field(description="Places, 1 to 10,000.")


class CentreOut(BaseModel):
    """A centre and its places."""

    id: str
    kind: CentreKind
    name: str
    community_id: str
    path: list[str] = Field(description="Area ids from the city down to the community.")
    capacity: int

    @classmethod
    def of(cls, centre: Centre) -> CentreOut:
        """The API view of a centre."""
        return cls(
            id=centre.id,
            kind=centre.kind,
            name=centre.name,
            community_id=centre.community_id,
            path=list(centre.path),
            capacity=centre.capacity,
        )


@router.post("/centres", status_code=201, response_model=CentreOut)
async def open_centre(body: CentreIn, command: WriteCommand) -> JSONResponse:
    """Register a day-care centre or institution."""
    return await command.run(
        placements.open_centre,
        CentreOut.of,
        status=201,
        kind=body.kind,
        name=body.name,
        community_id=body.community_id,
        capacity=body.capacity,
    )


class PlacementIn(BaseModel):
    """A placement request."""

    model_config = ConfigDict(extra="forbid")

    resident_id: Text = Field(min_length=1, max_length=64)
    kind: PlacementKind
    centre_id: Text | None = Field(
        default=None, description="Required for day care and institutions."
    )


class PlacementEnd(BaseModel):
    """Ending a placement or withdrawing a request."""

    model_config = ConfigDict(extra="forbid")

    reason: PlacementEndReason = "ended"


class PlacementOut(BaseModel):
    """A placement and where it stands."""

    id: str
    resident_id: str
    kind: PlacementKind
    centre_id: str | None
    status: PlacementStatus
    position: int | None = Field(description="Position on the waiting list (1 = next).")
    requested_on: date
    started_on: date | None
    ended_on: date | None
    end_reason: PlacementEndReason | None
    care_level: int = Field(description="Care level counted for its priority.")

    @classmethod
    def of(cls, state: PlacementSnapshot) -> PlacementOut:
        """The API view of a placement."""
        return cls(
            id=state.id,
            resident_id=state.resident_id,
            kind=state.kind,
            centre_id=state.centre_id,
            status=state.status,
            position=state.position,
            requested_on=state.requested_on,
            started_on=state.started_on,
            ended_on=state.ended_on,
            end_reason=state.end_reason,
            care_level=state.care_level,
        )


@router.post("/placements", status_code=201, response_model=PlacementOut)
async def request_placement(body: PlacementIn, command: WriteCommand) -> JSONResponse:
    """Request a placement: started at once when possible, else on the centre's list."""
    return await command.run(
        placements.request_placement,
        PlacementOut.of,
        status=201,
        resident_id=body.resident_id,
        kind=body.kind,
        centre_id=body.centre_id,
    )


@router.post("/placements/{placement_id}/end", response_model=PlacementOut)
async def end_placement(
    placement_id: str, body: PlacementEnd, command: WriteCommand
) -> JSONResponse:
    """End a placement or withdraw a waiting request; a freed place goes to the list's head."""
    return await command.run(
        placements.end_placement, PlacementOut.of, placement_id=placement_id, reason=body.reason
    )


class WaitingListOut(BaseModel):
    """A centre's places and waiting list."""

    centre: CentreOut
    occupied: int
    waiting: list[PlacementOut] = Field(description="In priority order.")


@router.get("/centres/{centre_id}/waiting-list", response_model=WaitingListOut)
async def waiting_list(
    centre_id: str, principal: Reader, session: SessionDep, trail: AuditTrail
) -> WaitingListOut:
    """A centre's occupancy and waiting list in order (each waiting placement's read is
    audited)."""
    found = await placements.waiting_list(session, principal=principal, centre_id=centre_id)
    await trail.read(
        principal, "placement", [(p.id, p.path) for p in found.waiting], session=session
    )
    return WaitingListOut(
        centre=CentreOut.of(found.centre),
        occupied=found.occupied,
        waiting=[PlacementOut.of(p) for p in found.waiting],
    )
