"""Matching queries: the best seekers for a vacancy and the best vacancies for a seeker, each
with its score explained term by term, and the training that would close a near miss.

Method (the scoring rules are in :mod:`employment.domain.matching`):

1. *Pre-filter by index.* Candidates share at least one skill with the other side. One grouped
   query over the matching index (``seeker_skill`` or ``vacancy_skill``, primary key
   ``(skill, id)``) returns, per candidate, how many required and nice-to-have skills it
   covers, plus what the bound needs (the seeker's number of priority groups, the vacancy's
   skill counts). Public-welfare eligibility is part of the filter.
2. *Bound.* From those counts the skill terms are exact and every other term is bounded, so
   each candidate has an upper bound of its score (:func:`~employment.domain.matching
   .upper_bound`).
3. *Score in bound order and stop early.* Candidates are scored exactly in chunks, highest bound
   first; once the k-th best exact score is above the next candidate's bound, no remaining
   candidate can enter the top k, and the search stops. The result is exactly the top k of a
   full scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters.paths import path_ids
from employment.adapters.tables import (
    CourseRow,
    SeekerRow,
    SeekerSkillRow,
    VacancyRow,
    VacancySkillRow,
)
from employment.domain import matching
from employment.domain.seekers import SeekerSnapshot
from employment.domain.taxonomy import taxonomy
from employment.domain.training import CourseSnapshot
from employment.domain.vacancies import VacancySnapshot
from employment.scope import current_date, within_scope
from employment.seekers_service import load_seeker
from employment.vacancies_service import load_vacancy
from shared.auth import Principal
from shared.contracts.employment import Hours, PriorityGroup

CHUNK = 256
"""Candidates scored per round trip."""
MAX_RECOMMENDED_COURSES = 3


@dataclass(frozen=True)
class Candidate:
    """One ranked match: the other side's id, its score and, for a near miss, courses."""

    id: str
    score: matching.Score
    priority_groups: frozenset[PriorityGroup]
    training_partner: bool
    courses: tuple[CourseSnapshot, ...] = ()


@dataclass(frozen=True)
class Ranking:
    """The best candidates and how much work finding them took."""

    candidates: tuple[Candidate, ...]
    prefiltered: int
    scored: int


def seeker_profile(state: SeekerSnapshot) -> matching.SeekerProfile:
    """What matching needs of a seeker."""
    prefs = state.preferences
    return matching.SeekerProfile(
        seeker_id=state.id,
        path=state.path,
        covered=taxonomy().covered(state.skills),
        hours=prefs.hours,
        max_hours_per_week=prefs.max_hours_per_week,
        wage_expectation_fen=prefs.wage_expectation_fen,
        priority_groups=state.priority_groups,
        preferred_paths=prefs.preferred_paths,
    )


def vacancy_profile(state: VacancySnapshot) -> matching.VacancyProfile:
    """What matching needs of a vacancy."""
    terms = state.terms
    return matching.VacancyProfile(
        vacancy_id=state.id,
        kind=state.kind,
        path=state.path,
        required=frozenset(terms.required_skills),
        nice=frozenset(terms.nice_skills),
        hours=terms.hours,
        hours_per_week=terms.hours_per_week,
        wage_fen=terms.wage_fen,
        training_partner=state.training_partner,
    )


def _seeker_row_profile(row: Any) -> matching.SeekerProfile:
    groups = frozenset(cast(list[PriorityGroup], row.derived_groups + row.recorded_groups))
    return matching.SeekerProfile(
        seeker_id=row.id,
        path=path_ids(row.path),
        covered=taxonomy().covered(row.skills),
        hours=frozenset(cast(list[Hours], row.hours)),
        max_hours_per_week=row.max_hours_per_week,
        wage_expectation_fen=row.wage_expectation_fen,
        priority_groups=groups,
        preferred_paths=tuple(tuple(path) for path in row.preferred_paths),
    )


def _vacancy_row_profile(row: Any) -> matching.VacancyProfile:
    return matching.VacancyProfile(
        vacancy_id=row.id,
        kind=row.kind,
        path=path_ids(row.path),
        required=frozenset(row.required_skills),
        nice=frozenset(row.nice_skills),
        hours=row.hours,
        hours_per_week=row.hours_per_week,
        wage_fen=row.wage_fen,
        training_partner=row.training_partner,
    )


async def seekers_for_vacancy(
    session: AsyncSession,
    *,
    principal: Principal,
    vacancy_id: str,
    within: str | None = None,
    limit: int = 20,
    today: date | None = None,
) -> tuple[VacancySnapshot, Ranking]:
    """The best ``limit`` seekers in the token's area for a vacancy, best first."""
    vacancy = (await load_vacancy(session, vacancy_id=vacancy_id)).state
    profile = vacancy_profile(vacancy)
    required, nice = sorted(profile.required), sorted(profile.nice)
    query = (
        select(
            SeekerSkillRow.seeker_id,
            func.sum(case((SeekerSkillRow.skill.in_(required), 1), else_=0)),
            func.sum(case((SeekerSkillRow.skill.in_(nice), 1), else_=0)) if nice else func.min(0),
            func.max(SeekerSkillRow.groups),
        )
        .where(
            SeekerSkillRow.skill.in_(required + nice),
            within_scope(SeekerSkillRow.path, principal, within),
        )
        .group_by(SeekerSkillRow.seeker_id)
    )
    if profile.kind == "public_welfare":
        query = query.where(SeekerSkillRow.groups > 0)
    bounded = sorted(
        (
            (
                matching.upper_bound(
                    required=len(required),
                    required_covered=int(rc),
                    nice=len(nice),
                    nice_covered=int(nc),
                    groups=int(groups),
                ),
                seeker_id,
            )
            for seeker_id, rc, nc, groups in await session.execute(query)
        ),
        reverse=True,
    )
    columns = (
        SeekerRow.id,
        SeekerRow.path,
        SeekerRow.skills,
        SeekerRow.hours,
        SeekerRow.max_hours_per_week,
        SeekerRow.wage_expectation_fen,
        SeekerRow.derived_groups,
        SeekerRow.recorded_groups,
        SeekerRow.preferred_paths,
    )
    top = matching.TopK(limit)
    scored = 0
    for start in range(0, len(bounded), CHUNK):
        if bounded[start][0] < top.threshold():
            break
        ids = [seeker_id for _, seeker_id in bounded[start : start + CHUNK]]
        for row in await session.execute(select(*columns).where(SeekerRow.id.in_(ids))):
            seeker = _seeker_row_profile(row)
            if not matching.eligible(seeker, profile):
                continue
            result = matching.score(seeker, profile)
            scored += 1
            top.offer(
                matching.seeker_rank(result.total, seeker),
                Candidate(seeker.seeker_id, result, seeker.priority_groups, False),
            )
    best = cast(list[Candidate], top.best())
    best = await _with_courses(session, best, today or current_date())
    return vacancy, Ranking(tuple(best), len(bounded), scored)


async def vacancies_for_seeker(
    session: AsyncSession,
    *,
    principal: Principal,
    seeker_id: str,
    within: str | None = None,
    limit: int = 20,
    today: date | None = None,
) -> tuple[SeekerSnapshot, Ranking]:
    """The best ``limit`` open vacancies (anywhere, or in ``within``) for a seeker of the
    token's area, best first."""
    seeker = (await load_seeker(session, principal=principal, seeker_id=seeker_id)).state
    profile = seeker_profile(seeker)
    groups = len(profile.priority_groups)
    query = (
        select(
            VacancySkillRow.vacancy_id,
            func.sum(case((VacancySkillRow.required, 1), else_=0)),
            func.sum(case((VacancySkillRow.required, 0), else_=1)),
            func.max(VacancySkillRow.required_count),
            func.max(VacancySkillRow.nice_count),
        )
        .where(VacancySkillRow.skill.in_(sorted(profile.covered)))
        .group_by(VacancySkillRow.vacancy_id)
    )
    if not groups:
        query = query.where(VacancySkillRow.welfare.is_(False))
    bounded = sorted(
        (
            (
                matching.upper_bound(
                    required=int(required),
                    required_covered=int(rc),
                    nice=int(nice),
                    nice_covered=int(nc),
                    groups=groups,
                ),
                vacancy_id,
            )
            for vacancy_id, rc, nc, required, nice in await session.execute(query)
        ),
        reverse=True,
    )
    columns = (
        VacancyRow.id,
        VacancyRow.kind,
        VacancyRow.path,
        VacancyRow.required_skills,
        VacancyRow.nice_skills,
        VacancyRow.hours,
        VacancyRow.hours_per_week,
        VacancyRow.wage_fen,
        VacancyRow.training_partner,
    )
    top = matching.TopK(limit)
    scored = 0
    for start in range(0, len(bounded), CHUNK):
        if bounded[start][0] < top.threshold():
            break
        ids = [vacancy_id for _, vacancy_id in bounded[start : start + CHUNK]]
        query_rows = select(*columns).where(VacancyRow.id.in_(ids))
        if within is not None:
            query_rows = query_rows.where(VacancyRow.path.contains(f"/{within}/", autoescape=True))
        for row in await session.execute(query_rows):
            vacancy = _vacancy_row_profile(row)
            if not matching.eligible(profile, vacancy):
                continue
            result = matching.score(profile, vacancy)
            scored += 1
            top.offer(
                matching.vacancy_rank(result.total, vacancy),
                Candidate(vacancy.vacancy_id, result, frozenset(), vacancy.training_partner),
            )
    best = cast(list[Candidate], top.best())
    best = await _with_courses(session, best, today or current_date())
    return seeker, Ranking(tuple(best), len(bounded), scored)


async def open_courses(session: AsyncSession, today: date) -> list[CourseSnapshot]:
    """Courses that have not ended and have places left."""
    from employment.adapters.store import course_snapshot

    rows = (
        await session.scalars(
            select(CourseRow)
            .where(CourseRow.ends_on >= today, CourseRow.enrolled < CourseRow.capacity)
            .order_by(CourseRow.starts_on, CourseRow.id)
        )
    ).all()
    return [course_snapshot(row) for row in rows]


def courses_closing(
    missing: Sequence[str], courses: Sequence[CourseSnapshot]
) -> tuple[CourseSnapshot, ...]:
    """Courses teaching missing skills (or narrower ones), most missing skills taught first,
    then the earliest; at most :data:`MAX_RECOMMENDED_COURSES`."""
    wanted = set(missing)
    ranked = []
    for course in courses:
        closes = len(wanted & taxonomy().covered(course.skills))
        if closes:
            ranked.append((-closes, course.starts_on, course.id, course))
    ranked.sort(key=lambda entry: entry[:3])
    return tuple(entry[3] for entry in ranked[:MAX_RECOMMENDED_COURSES])


async def _with_courses(
    session: AsyncSession, candidates: list[Candidate], today: date
) -> list[Candidate]:
    if not any(candidate.score.near_miss for candidate in candidates):
        return candidates
    courses = await open_courses(session, today)
    return [
        Candidate(
            c.id,
            c.score,
            c.priority_groups,
            c.training_partner,
            courses_closing(c.score.missing_required, courses) if c.score.near_miss else (),
        )
        for c in candidates
    ]
