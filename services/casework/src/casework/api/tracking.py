"""Tracking without a staff login: a resident posts the case number and verification code
and sees the state and remaining time; wrong pairs are rate-limited and the answer never tells
a missing number from a wrong code.

The route is public, so (like every public route of the platform) it stays out of the OpenAPI
document, which lists the secured API; ``docs/casework.md`` documents it."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from casework import tracking as service
from casework.api.cases import ClockOut
from casework.views import china_now
from shared.contracts.casework import CaseState
from shared.runtime import SessionDep

router = APIRouter(tags=["tracking"])


class TrackingIn(BaseModel):
    """Case number and verification code, as printed on the applicant's slip."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=20)
    code: str = Field(min_length=1, max_length=20)


class TrackingOut(BaseModel):
    """A case's state and remaining time, nothing personal."""

    number: str
    matter_code: str
    state: CaseState
    submitted_on: date
    missing_documents: list[str] = Field(description="What to bring, when returned.")
    clock: ClockOut
    closed_on: date | None


@router.post("/tracking", response_model=TrackingOut, include_in_schema=False)
async def track(body: TrackingIn, request: Request, session: SessionDep) -> TrackingOut:
    """No login: the case's state and remaining working days. 404 for a wrong number or code
    alike; 429 with ``Retry-After`` after too many wrong attempts from one address or for one
    number."""
    client = request.client.host if request.client else "unknown"
    found = await service.track(
        session,
        limiter=request.app.state.tracking_limiter,
        client=client,
        number=body.number.strip(),
        code=body.code,
        today=china_now().date(),
    )
    return TrackingOut(
        number=found.number,
        matter_code=found.matter_code,
        state=found.state,
        submitted_on=found.submitted_on,
        missing_documents=list(found.missing_documents),
        clock=ClockOut.of(found.clock),
        closed_on=found.closed_on,
    )
