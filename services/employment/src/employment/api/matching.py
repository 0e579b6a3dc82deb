"""Routes for matching (best seekers for a vacancy, best vacancies for a seeker, each scored
term by term), matches (propose, accept, decline) and placements with their retention checks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from employment import matcher
from employment import matches_service as service
from employment.api.deps import Reader, Within, WriteCommand, after_id
from employment.domain.matches import MatchSnapshot
from employment.domain.matching import Score
from employment.domain.placements import PlacementSnapshot
from shared.audit import AuditTrail
from shared.contracts.employment import PriorityGroup, VacancyKind
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(tags=["matching"])

Best = Annotated[int, Query(ge=1, le=100, description="How many to return (best first).")]


class TermOut(BaseModel):
    """One term of a score."""

    term: Literal["skill_coverage", "missing_required", "distance", "hours", "wage", "priority"]
    points: float
    reason: str


class CourseRef(BaseModel):
    """A course recommended to close a skill gap."""

    id: str
    title: str
    skills: list[str]
    starts_on: date
    ends_on: date


class ScoreOut(BaseModel):
    """A score, term by term."""

    score: float = Field(description="Sum of the terms.")
    terms: list[TermOut]
    missing_required: list[str] = Field(description="Required skills the seeker does not cover.")
    near_miss: bool = Field(description="Misses one or two required skills.")

    @staticmethod
    def fields(score: Score) -> dict[str, object]:
        """The fields of a score."""
        return {
            "score": score.total,
            "terms": [TermOut(term=t.term, points=t.points, reason=t.reason) for t in score.terms],
            "missing_required": list(score.missing_required),
            "near_miss": score.near_miss,
        }


class SeekerCandidate(ScoreOut):
    """A seeker ranked for a vacancy."""

    seeker_id: str
    priority_groups: list[PriorityGroup]
    recommended_courses: list[CourseRef] = Field(description="For a near miss: training.")


class VacancyCandidate(ScoreOut):
    """A vacancy ranked for a seeker."""

    vacancy_id: str
    training_partner: bool = Field(description="The employer takes part in training.")
    recommended_courses: list[CourseRef] = Field(description="For a near miss: training.")


class Work(BaseModel):
    """How much work the ranking took."""

    prefiltered: int = Field(description="Candidates sharing a skill (from the index).")
    scored: int = Field(description="Candidates scored exactly before the search stopped.")


class SeekerRanking(Work):
    """The best seekers for a vacancy."""

    vacancy_id: str
    items: list[SeekerCandidate]


class VacancyRanking(Work):
    """The best vacancies for a seeker."""

    seeker_id: str
    items: list[VacancyCandidate]


def _courses(candidate: matcher.Candidate) -> list[CourseRef]:
    return [
        CourseRef(
            id=c.id, title=c.title, skills=list(c.skills), starts_on=c.starts_on, ends_on=c.ends_on
        )
        for c in candidate.courses
    ]


class MatchIn(BaseModel):
    """A seeker to propose for a vacancy."""

    model_config = ConfigDict(extra="forbid")

    vacancy_id: Text = Field(max_length=36)
    seeker_id: Text = Field(max_length=36)


class Acceptance(BaseModel):
    """Acceptance of a match: the placement starts."""

    model_config = ConfigDict(extra="forbid")

    started_on: Day = Field(description="First day of work.")


class Declination(BaseModel):
    """Who declined a match."""

    model_config = ConfigDict(extra="forbid")

    declined_by: Literal["seeker", "employer"]


class MatchOut(ScoreOut):
    """A match and the score it was proposed with."""

    id: str
    vacancy_id: str
    seeker_id: str
    vacancy_kind: VacancyKind
    priority_groups: list[PriorityGroup]
    status: Literal["proposed", "accepted", "declined"]
    declined_by: Literal["seeker", "employer"] | None

    @classmethod
    def of(cls, state: MatchSnapshot) -> MatchOut:
        """The API view of a match."""
        return cls.model_validate(
            {
                **ScoreOut.fields(state.score),
                "id": state.id,
                "vacancy_id": state.vacancy_id,
                "seeker_id": state.seeker_id,
                "vacancy_kind": state.vacancy_kind,
                "priority_groups": sorted(state.priority_groups),
                "status": state.status,
                "declined_by": state.declined_by,
            }
        )


class CheckOut(BaseModel):
    """A retention check."""

    months: Literal[3, 6, 12]
    due_on: date
    status: Literal["scheduled", "due", "passed", "failed", "cancelled"]
    checked_on: date | None


class PlacementOut(BaseModel):
    """A placement and its retention checks."""

    id: str
    match_id: str
    seeker_id: str
    vacancy_id: str
    employer_id: str
    vacancy_kind: VacancyKind
    community_id: str
    priority_groups: list[PriorityGroup]
    started_on: date
    ends_on: date | None = Field(description="End of a fixed-term public-welfare post.")
    status: Literal["active", "ended"]
    reemployed_on: date | None = Field(description="When the 3-month check passed.")
    checks: list[CheckOut]

    @classmethod
    def of(cls, state: PlacementSnapshot) -> PlacementOut:
        """The API view of a placement."""
        return cls(
            id=state.id,
            match_id=state.match_id,
            seeker_id=state.seeker_id,
            vacancy_id=state.vacancy_id,
            employer_id=state.employer_id,
            vacancy_kind=state.vacancy_kind,
            community_id=state.community_id,
            priority_groups=sorted(state.priority_groups),
            started_on=state.started_on,
            ends_on=state.ends_on,
            status=state.status,
            reemployed_on=state.reemployed_on,
            checks=[
                CheckOut(months=c.months, due_on=c.due_on, status=c.status, checked_on=c.checked_on)
                for c in state.checks
            ],
        )


class PlacementPage(Page[PlacementOut]):
    """One page of placements."""


class CheckIn(BaseModel):
    """The result of a retention check."""

    model_config = ConfigDict(extra="forbid")

    months: Literal[3, 6, 12] = Field(description="Which check.")
    passed: StrictBool = Field(description="Still in the job.")
    checked_on: Day = Field(description="Date of the check (on or after it is due).")


# -- routes --------------------------------------------------------------------------------


@router.get("/vacancies/{vacancy_id}/candidates", response_model=SeekerRanking)
async def candidates_for_vacancy(
    vacancy_id: str,
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Within = None,
    limit: Best = 20,
) -> SeekerRanking:
    """The best seekers of the token's area for a vacancy, each with its score term by term;
    equal scores rank priority-group seekers first; public-welfare posts only list seekers in
    a priority group; near misses come with training that closes the gap. Each seeker listed
    is audited as read."""
    _, ranking = await matcher.seekers_for_vacancy(
        session, principal=principal, vacancy_id=vacancy_id, within=within, limit=limit
    )
    paths = await service.seeker_paths(session, [c.id for c in ranking.candidates])
    await trail.read(principal, "seeker", paths.items(), session=session)
    return SeekerRanking(
        vacancy_id=vacancy_id,
        prefiltered=ranking.prefiltered,
        scored=ranking.scored,
        items=[
            SeekerCandidate.model_validate(
                {
                    **ScoreOut.fields(c.score),
                    "seeker_id": c.id,
                    "priority_groups": sorted(c.priority_groups),
                    "recommended_courses": _courses(c),
                }
            )
            for c in ranking.candidates
        ],
    )


@router.get("/seekers/{seeker_id}/openings", response_model=VacancyRanking)
async def vacancies_for_seeker(
    seeker_id: str,
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Within = None,
    limit: Best = 20,
) -> VacancyRanking:
    """The best open vacancies for a seeker of the token's area (anywhere, or ``within``),
    each with its score term by term; near misses come with training that closes the gap.
    The seeker's profile is read: audited."""
    seeker, ranking = await matcher.vacancies_for_seeker(
        session, principal=principal, seeker_id=seeker_id, within=within, limit=limit
    )
    await trail.read(principal, "seeker", [(seeker.id, seeker.path)], session=session)
    return VacancyRanking(
        seeker_id=seeker_id,
        prefiltered=ranking.prefiltered,
        scored=ranking.scored,
        items=[
            VacancyCandidate.model_validate(
                {
                    **ScoreOut.fields(c.score),
                    "vacancy_id": c.id,
                    "training_partner": c.training_partner,
                    "recommended_courses": _courses(c),
                }
            )
            for c in ranking.candidates
        ],
    )


@router.post("/matches", status_code=status.HTTP_201_CREATED, response_model=MatchOut)
async def propose_match(body: MatchIn, command: WriteCommand) -> JSONResponse:
    """Propose a seeker of the token's area for an open vacancy, scored now
    (``match.proposed``); 409 for a public-welfare post and a seeker in no priority group."""
    return await command.run(
        service.propose_match,
        MatchOut.of,
        status=status.HTTP_201_CREATED,
        vacancy_id=body.vacancy_id,
        seeker_id=body.seeker_id,
    )


@router.get("/matches/{match_id}", response_model=MatchOut)
async def get_match(
    match_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> MatchOut:
    """One match with its score term by term (the read is audited)."""
    match, seeker_path = await service.get_match(session, principal=principal, match_id=match_id)
    await trail.read(principal, "match", [(match.id, seeker_path)], session=session)
    return MatchOut.of(match)


@router.post(
    "/matches/{match_id}/accept", status_code=status.HTTP_201_CREATED, response_model=PlacementOut
)
async def accept_match(match_id: str, body: Acceptance, command: WriteCommand) -> JSONResponse:
    """Accept a match: the placement is made and its retention checks scheduled
    (``match.accepted``, ``placement.made``)."""
    return await command.run(
        service.accept_match,
        PlacementOut.of,
        status=status.HTTP_201_CREATED,
        match_id=match_id,
        started_on=body.started_on,
    )


@router.post("/matches/{match_id}/decline", response_model=MatchOut)
async def decline_match(match_id: str, body: Declination, command: WriteCommand) -> JSONResponse:
    """Decline a proposed match (``match.declined``)."""
    return await command.run(
        service.decline_match, MatchOut.of, match_id=match_id, declined_by=body.declined_by
    )


@router.get("/placements", response_model=PlacementPage, tags=["placements"])
async def list_placements(
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Within = None,
    check_due: Annotated[
        bool, Query(description="Only placements with a retention check due (follow-ups).")
    ] = False,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> PlacementPage:
    """Placements by id in the token's area; ``check_due=true`` lists the follow-up tasks
    (each read is audited)."""
    rows = await service.list_placements(
        session,
        principal=principal,
        within=within,
        check_due=check_due,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    await trail.read(principal, "placement", [(s.id, s.path) for s in page], session=session)
    return PlacementPage(items=[PlacementOut.of(s) for s in page], next_cursor=next_cursor)


@router.get("/placements/{placement_id}", response_model=PlacementOut, tags=["placements"])
async def get_placement(
    placement_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> PlacementOut:
    """One placement with its retention checks (the read is audited)."""
    placement = await service.get_placement(session, principal=principal, placement_id=placement_id)
    await trail.read(principal, "placement", [(placement.id, placement.path)], session=session)
    return PlacementOut.of(placement)


@router.post(
    "/placements/{placement_id}/retention-checks",
    response_model=PlacementOut,
    tags=["placements"],
)
async def record_retention_check(
    placement_id: str, body: CheckIn, command: WriteCommand
) -> JSONResponse:
    """Record a retention check (``placement.retention_checked``; ``placement.reemployed`` when
    the 3-month check passes; a failed check ends the placement)."""
    return await command.run(
        service.record_retention_check,
        PlacementOut.of,
        placement_id=placement_id,
        months=body.months,
        passed=body.passed,
        checked_on=body.checked_on,
    )
