"""Routes for employers, vacancies, the vacancy change stream, public-welfare quotas and the
skills taxonomy. Vacancies, employers and skills are public offers (every token with
``employment:read`` reads them); writes are confined to the token's area."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from employment import vacancies_service as service
from employment.api.deps import Reader, Within, WriteCommand, after_id
from employment.domain import vacancies
from employment.domain.taxonomy import taxonomy
from shared.contracts.employment import EmployerKind, Hours, VacancyKind
from shared.db import as_utc
from shared.errors import FieldError, InvalidInput
from shared.inputs import Text
from shared.pagination import (
    DEFAULT_PAGE_SIZE,
    Cursor,
    Page,
    PageSize,
    decode_cursor,
    encode_cursor,
    page_of,
)
from shared.runtime import SessionDep

router = APIRouter(tags=["vacancies"])


# -- bodies --------------------------------------------------------------------------------


class EmployerIn(BaseModel):
    """An employer to register."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, description="Name of the organisation.")
    kind: EmployerKind = Field(description="Enterprise, public body or social organisation.")
    community_id: Text = Field(max_length=32, description="Community it is registered in.")
    training_partner: StrictBool = Field(
        default=False, description="Takes part in reemployment training (ranks first on ties)."
    )


class EmployerOut(BaseModel):
    """An employer."""

    id: str
    name: str
    kind: EmployerKind
    community_id: str
    path: list[str]
    training_partner: bool

    @classmethod
    def of(cls, state: vacancies.EmployerSnapshot) -> EmployerOut:
        """The API view of an employer."""
        return cls(
            id=state.id,
            name=state.name,
            kind=state.kind,
            community_id=state.community_id,
            path=list(state.path),
            training_partner=state.training_partner,
        )


class EmployerPage(Page[EmployerOut]):
    """One page of employers."""


class TermsIn(BaseModel):
    """What a vacancy offers and asks."""

    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=200, description="Job title.")
    required_skills: list[Text] = Field(
        min_length=1, max_length=20, description="Skill codes a candidate must cover."
    )
    nice_skills: list[Text] = Field(
        default_factory=list, max_length=20, description="Skill codes that count in favour."
    )
    hours: Hours = Field(description="Working time.")
    hours_per_week: StrictInt = Field(description="Hours a week, 1 to 84.")
    wage_fen: StrictInt = Field(description="Monthly wage in fen (1/100 yuan).")
    posts: StrictInt = Field(default=1, description="Number of posts, 1 to 1000.")
    max_tenure_months: StrictInt | None = Field(
        default=None,
        description="Public-welfare posts only: most months a person may hold such posts "
        "(default 36).",
    )


class VacancyIn(TermsIn):
    """A vacancy to post."""

    employer_id: Text = Field(max_length=36, description="The employer.")
    kind: VacancyKind = Field(description="Enterprise, public-welfare or convenience-service.")
    place_id: Text = Field(
        max_length=32,
        description="Community or street where the work is (a community for public-welfare posts).",
    )


class VacancyOut(BaseModel):
    """A vacancy."""

    id: str
    employer_id: str
    kind: VacancyKind
    place_id: str
    path: list[str]
    title: str
    required_skills: list[str]
    nice_skills: list[str]
    hours: Hours
    hours_per_week: int
    wage_fen: int
    posts: int
    filled: int
    max_tenure_months: int | None
    status: vacancies.VacancyStatus
    training_partner: bool
    version: int

    @classmethod
    def of(cls, state: vacancies.VacancySnapshot) -> VacancyOut:
        """The API view of a vacancy."""
        terms = state.terms
        return cls(
            id=state.id,
            employer_id=state.employer_id,
            kind=state.kind,
            place_id=state.community_id,
            path=list(state.path),
            title=terms.title,
            required_skills=list(terms.required_skills),
            nice_skills=list(terms.nice_skills),
            hours=terms.hours,
            hours_per_week=terms.hours_per_week,
            wage_fen=terms.wage_fen,
            posts=terms.posts,
            filled=state.filled,
            max_tenure_months=terms.max_tenure_months,
            status=state.status,
            training_partner=state.training_partner,
            version=state.version,
        )


class VacancyPage(Page[VacancyOut]):
    """One page of vacancies."""


class VacancyChange(BaseModel):
    """A vacancy as it is after its last change."""

    changed_at: datetime = Field(description="When it last changed (UTC).")
    vacancy: VacancyOut


class VacancyChanges(BaseModel):
    """Vacancies changed since a moment, oldest change first."""

    items: list[VacancyChange]
    next_cursor: str | None = Field(description="Null when nothing more has changed yet.")
    next_since: datetime | None = Field(
        description="`changed_at` of the last item: pass it as `since` next time."
    )


class QuotaIn(BaseModel):
    """A community's quota of public-welfare posts."""

    model_config = ConfigDict(extra="forbid")

    community_id: Text = Field(max_length=32, description="The community.")
    posts: StrictInt = Field(ge=0, le=10_000, description="Posts it may have open or held at once.")


class QuotaOut(BaseModel):
    """A community's public-welfare quota and its use."""

    community_id: str
    posts: int
    in_use: int = Field(description="Unfilled open posts plus placements under way.")

    @classmethod
    def of(cls, quota: service.WelfareQuota) -> QuotaOut:
        """The API view of a quota."""
        return cls(community_id=quota.community_id, posts=quota.posts, in_use=quota.in_use)


class SkillOut(BaseModel):
    """A skill of the taxonomy."""

    code: str
    parent: str | None
    en: str
    zh: str
    synonyms: list[str]


# -- routes --------------------------------------------------------------------------------


@router.get("/skills", response_model=list[SkillOut], tags=["skills"])
async def list_skills(
    principal: Reader,
    q: Annotated[
        Text | None, Query(max_length=50, description="Text in a code, label or synonym.")
    ] = None,
) -> list[SkillOut]:
    """The skills taxonomy (Chinese and English labels, synonyms), or the skills matching ``q``."""
    found = taxonomy().search(q) if q else list(taxonomy().skills.values())
    return [
        SkillOut(code=s.code, parent=s.parent, en=s.en, zh=s.zh, synonyms=list(s.synonyms))
        for s in found
    ]


@router.post(
    "/employers",
    status_code=status.HTTP_201_CREATED,
    response_model=EmployerOut,
    tags=["employers"],
)
async def register_employer(body: EmployerIn, command: WriteCommand) -> JSONResponse:
    """Register an employer in a community of the token's area (``employer.registered``)."""
    return await command.run(
        service.register_employer,
        EmployerOut.of,
        status=status.HTTP_201_CREATED,
        name=body.name,
        kind=body.kind,
        community_id=body.community_id,
        training_partner=body.training_partner,
    )


@router.get("/employers", response_model=EmployerPage, tags=["employers"])
async def list_employers(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> EmployerPage:
    """Employers by id."""
    rows = await service.list_employers(
        session, within=within, after=after_id(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return EmployerPage(items=[EmployerOut.of(s) for s in page], next_cursor=next_cursor)


@router.get("/employers/{employer_id}", response_model=EmployerOut, tags=["employers"])
async def get_employer(employer_id: str, session: SessionDep, principal: Reader) -> EmployerOut:
    """One employer."""
    return EmployerOut.of(await service.get_employer(session, employer_id=employer_id))


@router.post("/vacancies", status_code=status.HTTP_201_CREATED, response_model=VacancyOut)
async def post_vacancy(body: VacancyIn, command: WriteCommand) -> JSONResponse:
    """Post a vacancy at a place in the token's area (``vacancy.posted``); public-welfare
    posts must fit the community's quota (409)."""
    return await command.run(
        service.post_vacancy,
        VacancyOut.of,
        status=status.HTTP_201_CREATED,
        employer_id=body.employer_id,
        kind=body.kind,
        place_id=body.place_id,
        title=body.title,
        required_skills=body.required_skills,
        nice_skills=body.nice_skills,
        hours=body.hours,
        hours_per_week=body.hours_per_week,
        wage_fen=body.wage_fen,
        posts=body.posts,
        max_tenure_months=body.max_tenure_months,
    )


@router.get("/vacancies", response_model=VacancyPage)
async def list_vacancies(
    session: SessionDep,
    principal: Reader,
    within: Within = None,
    status_: Annotated[vacancies.VacancyStatus | None, Query(alias="status")] = None,
    kind: Annotated[VacancyKind | None, Query(description="Only this kind.")] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> VacancyPage:
    """Vacancies by id."""
    rows = await service.list_vacancies(
        session, within=within, status=status_, kind=kind, after=after_id(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return VacancyPage(items=[VacancyOut.of(s) for s in page], next_cursor=next_cursor)


@router.get("/vacancies/changes", response_model=VacancyChanges)
async def vacancy_changes(
    session: SessionDep,
    principal: Reader,
    since: Annotated[datetime, Query(description="Only vacancies changed after this moment.")],
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> VacancyChanges:
    """The change stream for integrators: every vacancy posted, revised, filled or closed
    after ``since``, as it is now, oldest change first. Poll with the returned
    ``next_since``; the same changes are published as ``vacancy.*`` events."""
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    key = decode_cursor(cursor)
    after = None
    if key is not None:
        try:
            after = (datetime.fromisoformat(key[0]), str(key[1]))
        except (IndexError, TypeError, ValueError):
            raise InvalidInput(
                "malformed cursor", errors=[FieldError("cursor", "not a cursor from this API")]
            ) from None
    rows = await service.vacancy_changes(
        session, since=moment.astimezone(UTC), after=after, limit=limit + 1
    )
    page = rows[:limit]
    items = [VacancyChange(changed_at=as_utc(at), vacancy=VacancyOut.of(s)) for at, s in page]
    next_cursor = (
        encode_cursor([page[-1][0].isoformat(), page[-1][1].id])
        if len(rows) > limit and page
        else None
    )
    return VacancyChanges(
        items=items,
        next_cursor=next_cursor,
        next_since=items[-1].changed_at if items else None,
    )


@router.get("/vacancies/{vacancy_id}", response_model=VacancyOut)
async def get_vacancy(vacancy_id: str, session: SessionDep, principal: Reader) -> VacancyOut:
    """One vacancy."""
    return VacancyOut.of(await service.get_vacancy(session, vacancy_id=vacancy_id))


@router.put("/vacancies/{vacancy_id}", response_model=VacancyOut)
async def revise_vacancy(vacancy_id: str, body: TermsIn, command: WriteCommand) -> JSONResponse:
    """Replace the terms of an open vacancy of the token's area (``vacancy.updated``)."""
    return await command.run(
        service.revise_vacancy,
        VacancyOut.of,
        vacancy_id=vacancy_id,
        title=body.title,
        required_skills=body.required_skills,
        nice_skills=body.nice_skills,
        hours=body.hours,
        hours_per_week=body.hours_per_week,
        wage_fen=body.wage_fen,
        posts=body.posts,
        max_tenure_months=body.max_tenure_months,
    )


@router.post("/vacancies/{vacancy_id}/close", response_model=VacancyOut)
async def close_vacancy(vacancy_id: str, command: WriteCommand) -> JSONResponse:
    """Withdraw an open vacancy of the token's area (``vacancy.closed``)."""
    return await command.run(service.close_vacancy, VacancyOut.of, vacancy_id=vacancy_id)


@router.post("/welfare-quotas", response_model=QuotaOut, tags=["vacancies"])
async def set_welfare_quota(body: QuotaIn, command: WriteCommand) -> JSONResponse:
    """Set a community's quota of public-welfare posts (not below the posts in use)."""
    return await command.run(
        service.set_welfare_quota, QuotaOut.of, community_id=body.community_id, posts=body.posts
    )


@router.get("/welfare-quotas", response_model=list[QuotaOut], tags=["vacancies"])
async def list_welfare_quotas(
    session: SessionDep, principal: Reader, within: Within = None
) -> list[QuotaOut]:
    """The public-welfare quotas of the communities in the token's area and their use."""
    return [
        QuotaOut.of(q)
        for q in await service.list_welfare_quotas(session, principal=principal, within=within)
    ]
