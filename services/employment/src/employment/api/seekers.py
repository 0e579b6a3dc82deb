"""Routes for job seekers and their concession card, with their bodies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from employment import seekers_service as service
from employment.api.deps import Reader, Within, WriteCommand, after_id
from employment.domain.seekers import Education, SeekerSnapshot, WithdrawalReason
from shared.audit import AuditTrail
from shared.contracts.employment import Hours, PriorityGroup, SeekerStatus
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(prefix="/seekers", tags=["seekers"])

Skills = Annotated[list[Text], Field(max_length=50, description="Skill codes (GET /skills).")]


class SeekerIn(BaseModel):
    """A resident to register as a job seeker."""

    model_config = ConfigDict(extra="forbid")

    resident_id: Text = Field(max_length=36, description="Registry id of the resident.")
    recorded_groups: list[PriorityGroup] = Field(
        default_factory=list,
        max_length=8,
        description="Priority groups the community recorded (land_losing_farmer, "
        "long_term_unemployed, new_entrant, graduate); the others derive from registry facts.",
    )
    skills: Skills = Field(default_factory=list)
    education: Education = Field(description="Highest education completed.")
    hours: list[Hours] = Field(min_length=1, max_length=3, description="Working times accepted.")
    max_hours_per_week: StrictInt = Field(default=44, description="Most hours a week, 1 to 84.")
    wage_expectation_fen: StrictInt | None = Field(
        default=None, description="Monthly wage expected, in fen; null for none."
    )
    preferred_area_ids: list[Text] = Field(
        default_factory=list, max_length=10, description="Areas the seeker prefers to work in."
    )


class SeekerPatch(BaseModel):
    """Changes to what the community recorded of a seeker."""

    model_config = ConfigDict(extra="forbid")

    recorded_groups: list[PriorityGroup] | None = Field(default=None, max_length=8)
    skills: list[Text] | None = Field(default=None, max_length=50)
    education: Education | None = None
    hours: list[Hours] | None = Field(default=None, min_length=1, max_length=3)
    max_hours_per_week: StrictInt | None = None
    wage_expectation_fen: StrictInt | None = None
    preferred_area_ids: list[Text] | None = Field(default=None, max_length=10)


class Withdrawal(BaseModel):
    """A seeker's withdrawal."""

    model_config = ConfigDict(extra="forbid")

    reason: WithdrawalReason = Field(description="Why the seeker stops seeking.")
    withdrawn_on: Day = Field(description="Date.")


class CardRevocation(BaseModel):
    """Revoking a concession card by hand (training refusals revoke it by themselves)."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["other"] = Field(default="other", description="Why.")


class SeekerOut(BaseModel):
    """A job seeker as the API shows it (no name or id number: those stay in the registry)."""

    id: str
    resident_id: str
    community_id: str
    path: list[str]
    priority_groups: list[PriorityGroup] = Field(description="Derived and recorded together.")
    derived_groups: list[PriorityGroup] = Field(description="From registry facts.")
    recorded_groups: list[PriorityGroup] = Field(description="Recorded by the community.")
    skills: list[str]
    education: Education
    hours: list[Hours]
    max_hours_per_week: int
    wage_expectation_fen: int | None
    preferred_area_ids: list[str]
    status: SeekerStatus
    card: Literal["none", "issued", "revoked"] = Field(description="Concession card.")
    card_changed_on: date | None
    card_revocation: str | None
    registered_on: date
    version: int

    @classmethod
    def of(cls, state: SeekerSnapshot) -> SeekerOut:
        """The API view of a seeker."""
        prefs = state.preferences
        return cls(
            id=state.id,
            resident_id=state.resident_id,
            community_id=state.community_id,
            path=list(state.path),
            priority_groups=sorted(state.priority_groups),
            derived_groups=sorted(state.derived_groups),
            recorded_groups=sorted(state.recorded_groups),
            skills=list(state.skills),
            education=state.education,
            hours=sorted(prefs.hours),
            max_hours_per_week=prefs.max_hours_per_week,
            wage_expectation_fen=prefs.wage_expectation_fen,
            preferred_area_ids=list(prefs.preferred_area_ids),
            status=state.status,
            card=state.card,
            card_changed_on=state.card_changed_on,
            card_revocation=state.card_revocation,
            registered_on=state.registered_on,
            version=state.version,
        )


class SeekerPage(Page[SeekerOut]):
    """One page of seekers."""


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SeekerOut)
async def register_seeker(body: SeekerIn, command: WriteCommand) -> JSONResponse:
    """Register a resident known from the registry as a job seeker (``seeker.registered``)."""
    return await command.run(
        service.register_seeker,
        SeekerOut.of,
        status=status.HTTP_201_CREATED,
        resident_id=body.resident_id,
        recorded_groups=body.recorded_groups,
        skills=body.skills,
        education=body.education,
        hours=body.hours,
        max_hours_per_week=body.max_hours_per_week,
        wage_expectation_fen=body.wage_expectation_fen,
        preferred_area_ids=body.preferred_area_ids,
    )


@router.get("", response_model=SeekerPage)
async def list_seekers(
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Within = None,
    status_: Annotated[SeekerStatus | None, Query(alias="status")] = None,
    group: Annotated[PriorityGroup | None, Query(description="Only this priority group.")] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> SeekerPage:
    """Seekers by id, confined to the token's area."""
    rows = await service.list_seekers(
        session,
        principal=principal,
        within=within,
        status=status_,
        group=group,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    await trail.read(
        principal, "seeker", [(state.id, state.path) for state in page], session=session
    )
    return SeekerPage(items=[SeekerOut.of(state) for state in page], next_cursor=next_cursor)


@router.get("/{seeker_id}", response_model=SeekerOut)
async def get_seeker(
    seeker_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> SeekerOut:
    """One seeker (the read is audited); 404 if missing or outside the token's area."""
    state = await service.get_seeker(session, principal=principal, seeker_id=seeker_id)
    await trail.read(principal, "seeker", [(state.id, state.path)], session=session)
    return SeekerOut.of(state)


@router.patch("/{seeker_id}", response_model=SeekerOut)
async def update_seeker(seeker_id: str, body: SeekerPatch, command: WriteCommand) -> JSONResponse:
    """Change recorded groups, skills, education or preferences (``seeker.updated``)."""
    return await command.run(
        service.update_seeker,
        SeekerOut.of,
        seeker_id=seeker_id,
        recorded_groups=body.recorded_groups,
        skills=body.skills,
        education=body.education,
        hours=body.hours,
        max_hours_per_week=body.max_hours_per_week,
        wage_expectation_fen=body.wage_expectation_fen,
        preferred_area_ids=body.preferred_area_ids,
    )


@router.post("/{seeker_id}/withdraw", response_model=SeekerOut)
async def withdraw_seeker(seeker_id: str, body: Withdrawal, command: WriteCommand) -> JSONResponse:
    """Withdraw a seeker for good (``seeker.withdrawn``)."""
    return await command.run(
        service.withdraw_seeker,
        SeekerOut.of,
        seeker_id=seeker_id,
        reason=body.reason,
        withdrawn_on=body.withdrawn_on,
    )


@router.post("/{seeker_id}/card", response_model=SeekerOut)
async def issue_card(seeker_id: str, command: WriteCommand) -> JSONResponse:
    """Issue the reemployment concession card (``seeker.card_issued``): only to a seeker in
    a priority group; after a revocation for training, only once required training was
    completed since (409 otherwise)."""
    return await command.run(service.issue_card, SeekerOut.of, seeker_id=seeker_id)


@router.post("/{seeker_id}/card/revoke", response_model=SeekerOut)
async def revoke_card(seeker_id: str, body: CardRevocation, command: WriteCommand) -> JSONResponse:
    """Revoke the concession card for another reason (``seeker.card_revoked``)."""
    return await command.run(
        service.revoke_card, SeekerOut.of, seeker_id=seeker_id, reason=body.reason
    )
