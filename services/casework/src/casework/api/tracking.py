"""Tracking without a staff login: a resident posts the case number and verification code
and sees the state and remaining time; wrong pairs are rate-limited and the answer never tells
a missing number from a wrong code.

The route is public: it is in the OpenAPI document (an integrator or a front-end needs it) with
no security requirement, and ``tests/test_route_security.py`` holds it in its allow-list of
public routes, checking that it answers without a token and tells a missing number from a wrong
code in no way."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from casework import tracking as service
from casework.api.cases import ClockOut
from casework.views import china_now
from shared.contracts.casework import CaseState
from shared.inputs import Text
from shared.runtime import SessionDep

router = APIRouter(tags=["tracking"])


class TrackingIn(BaseModel):
    """Case number and verification code, as printed on the applicant's slip."""

    model_config = ConfigDict(extra="forbid")

    number: Text = Field(min_length=1, max_length=20, description="Case number.")
    code: Text = Field(min_length=1, max_length=20, description="Verification code.")


class TrackingOut(BaseModel):
    """A case's state and remaining time, nothing personal."""

    number: str
    matter_code: str
    state: CaseState
    submitted_on: date
    missing_documents: list[str] = Field(description="What to bring, when returned.")
    clock: ClockOut
    closed_on: date | None


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No case with this number and code: the same answer whether the number "
        "does not exist or the code is wrong.",
        "content": _PROBLEM,
    },
    429: {
        "description": "Too many wrong pairs from this address or for this number; even the "
        "right code is refused until `Retry-After` seconds have passed.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
        "content": _PROBLEM,
    },
}


@router.post(
    "/tracking",
    response_model=TrackingOut,
    responses=RESPONSES,
    summary="Track a case by number and verification code (public, no token)",
)
async def track(body: TrackingIn, request: Request, session: SessionDep) -> TrackingOut:
    """Track a case without a login (public: no token): the case number and verification code
    from the applicant's slip give its state and remaining working days, nothing personal. A
    wrong code and an unknown number get the same 404; too many wrong pairs from one address or
    for one number get 429 with `Retry-After`."""
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
