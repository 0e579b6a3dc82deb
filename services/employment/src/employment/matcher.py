"""Matching queries: the best seekers for a vacancy and the best vacancies for a seeker, each
with its score explained term by term, and the training that would close a near miss.

Candidates are every eligible one (matchable seekers of the token's area, or ``within``; open
vacancies anywhere, or ``within``; public-welfare posts only for seekers in a priority group),
whether they share a skill with the other side or not: a laid-off seeker with no recorded
skills still loses only 15 points per missing required skill. Method (the scoring rules are
in :mod:`employment.domain.matching`):

1. *Candidates sharing a skill, by index.* The matching index (``seeker_skill`` /
   ``vacancy_skill``, primary key ``(skill, id)``) has one row per skill and candidate,
   carrying what the other terms need (area path, working time, hours, wage, priority groups),
   so one grouped, indexed query over the wanted skills yields every candidate sharing a skill
   with its skill counts. Area confinement and public-welfare eligibility are part of the
   filter.
2. *Rank in the database.* The same query computes each candidate's score from those columns
   (unrounded, plus a margin that covers the domain's rounding to 0.01 per term, and the full
   15 distance points for a seeker with preferred areas): an upper bound of the exact score.
   PostgreSQL sorts the candidates by it (ties: priority groups, or training-partner employers,
   then id) and returns only the first chunk.
3. *Score exactly and stop early.* The chunk's candidates are scored exactly in Python with the
   domain's terms; further chunks (each twice as large) are read only while the next bound could
   still reach the k-th best exact score. Rows come in falling bound order, so every unread
   candidate's exact score is at most the next bound, below the k-th best: none can enter.
4. *Candidates sharing no skill, only when they can matter.* Such a candidate has no skill
   coverage (unless there are no skills to cover: 40) and −15 per required skill; the other
   terms give at most 35 (distance, hours, wage) plus the priority points
   (:func:`_zero_overlap_most`). When that most (for a vacancy: with its required skills and
   the most priority points; for a seeker: with their priority points and no skills at all)
   is below the k-th best exact score of step 3, none of them is read. Otherwise one query
   over the seekers (matchable, in scope) or open vacancies (in ``within``, eligible) that
   have no row for a shared skill in the index computes each one's bound from its own row
   (:func:`_zero_overlap_bound`: numbers of skills, or of priority groups counted from the
   stored lists, which may overlap, so never too few; distance, hours and wage points as in
   step 2; the rounding margin), keeps those whose bound reaches the k-th best exact score and
   sorts them by it; they are scored exactly and stopped early as in step 3, into the same
   top k. Every candidate left unread in either step has a bound below the final k-th best
   score, so the result is exactly the top k of a full scan of every eligible candidate
   (``services/employment/tests/test_matcher_exact.py``); the k winners are then scored again
   term by term, with reasons, from their full rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, String, case, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.paths import path_ids, path_text
from employment.adapters.tables import (
    CourseRow,
    SeekerRow,
    SeekerSkillRow,
    VacancyRow,
    VacancySkillRow,
)
from employment.domain import matching
from employment.domain.seekers import MATCHABLE, SeekerSnapshot
from employment.domain.taxonomy import taxonomy
from employment.domain.training import CourseSnapshot
from employment.domain.vacancies import VacancySnapshot
from employment.scope import current_date, within_scope
from employment.seekers_service import load_seeker
from employment.vacancies_service import load_vacancy
from shared.auth import Principal
from shared.contracts.employment import PriorityGroup

FIRST_CHUNK = 64
"""Candidates read in the first round trip; each further one reads twice as many."""
ROUNDING_MARGIN = 0.05
"""Covers the domain's rounding of six terms to 0.01 (at most 0.03) with room to spare."""
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


# -- score bounds as SQL expressions -----------------------------------------------------


def _at_least_zero(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((value < 0, 0.0), else_=value)


def _skill_points(
    required: Any, required_covered: Any, nice: Any, nice_covered: Any
) -> ColumnElement[Any]:
    weight = required + nice * matching.NICE_WEIGHT
    coverage = (
        (required_covered * 1.0 + nice_covered * matching.NICE_WEIGHT)
        * matching.SKILL_COVERAGE_MAX
        / weight
    )
    return cast(
        ColumnElement[Any],
        coverage - (required - required_covered) * matching.MISSING_REQUIRED_PENALTY,
    )


def _common_depth(column: Any, path: Sequence[str]) -> ColumnElement[Any]:
    """How many leading areas a stored path shares with ``path``."""
    whens = [
        (column.startswith(path_text(path[:depth]), autoescape=True), depth)
        for depth in range(len(path), 0, -1)
    ]
    return case(*whens, else_=0)


def _distance_points(steps: ColumnElement[Any]) -> ColumnElement[Any]:
    return _at_least_zero((1.0 - steps * 1.0 / matching.DISTANCE_ZERO_AT) * matching.DISTANCE_MAX)


def _hours_points(accepted: ColumnElement[Any], over: ColumnElement[Any]) -> ColumnElement[Any]:
    excess = case((over > 0, over), else_=0)
    return case(
        (accepted == 0, 0.0),
        else_=_at_least_zero(matching.HOURS_MAX - excess * matching.HOURS_PENALTY_PER_HOUR),
    )


def _wage_points(expectation: Any, wage: Any) -> ColumnElement[Any]:
    return case(
        (expectation.is_(None), matching.WAGE_MAX),
        (wage >= expectation, matching.WAGE_MAX),
        else_=_at_least_zero((1.0 - (expectation - wage) * 2.0 / expectation) * matching.WAGE_MAX),
    )


def _priority_points(groups: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(
        (groups == 0, 0.0),
        else_=_min(
            matching.PRIORITY_POINTS + (groups - 1) * matching.PRIORITY_PER_FURTHER_GROUP,
            matching.PRIORITY_MAX,
        ),
    )


def _min(value: ColumnElement[Any], most: float) -> ColumnElement[Any]:
    return case((value > most, most), else_=value)


# -- the two rankings --------------------------------------------------------------------


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
    offer = vacancy_profile(vacancy)
    required, nice = sorted(offer.required), sorted(offer.nice)
    row = SeekerSkillRow
    required_covered = func.sum(case((row.skill.in_(required), 1), else_=0))
    nice_covered = func.sum(case((row.skill.in_(nice), 1), else_=0)) if nice else literal(0)
    groups, path, depth = func.max(row.groups), func.max(row.path), func.max(row.depth)
    mask, most, wage = func.max(row.hours_mask), func.max(row.max_hours), func.max(row.wage_fen)
    preferred = func.max(row.preferred)
    steps = depth + len(offer.path) - 2 * _common_depth(path, offer.path)
    bound = (
        _skill_points(len(required), required_covered, len(nice), nice_covered)
        + case((preferred != "", matching.DISTANCE_MAX), else_=_distance_points(steps))
        + _hours_points(mask.op("&")(store.HOURS_BITS[offer.hours]), offer.hours_per_week - most)
        + _wage_points(wage, offer.wage_fen)
        + _priority_points(groups)
        + ROUNDING_MARGIN
    ).label("bound")
    query = (
        select(row.seeker_id, required_covered, nice_covered, groups, path, mask, most, wage)
        .add_columns(preferred, func.count().over().label("candidates"), bound)
        .where(row.skill.in_(required + nice), within_scope(row.path, principal, within))
        .group_by(row.seeker_id)
        .order_by(bound.desc(), groups.desc(), row.seeker_id)
    )
    if offer.kind == "public_welfare":
        query = query.where(row.groups > 0)

    def exact(found: Any) -> tuple[matching.RankKey, str]:
        seeker = matching.SeekerProfile(
            seeker_id=found.seeker_id,
            path=path_ids(found[4]),
            covered=frozenset(),
            hours=store.hours_of_mask(found[5]),
            max_hours_per_week=found[6],
            wage_expectation_fen=found[7],
            priority_groups=frozenset(),
            preferred_paths=store.preferred_paths(found[8]),
        )
        total = matching.total_from_counts(
            seeker=seeker,
            vacancy=offer,
            required=len(required),
            required_covered=int(found[1]),
            nice=len(nice),
            nice_covered=int(found[2]),
            groups=int(found[3]),
        )
        groups_count = int(found[3])
        return (-total, 0 if groups_count else 1, -groups_count, found.seeker_id), found.seeker_id

    top = matching.TopK(limit)
    scored, prefiltered = await _top(session, query, exact, top)
    apart_most = _zero_overlap_most(len(required), len(nice), matching.PRIORITY_MAX)
    if apart_most >= top.threshold():
        person = SeekerRow
        shares = select(row.seeker_id).where(
            row.seeker_id == person.id, row.skill.in_(required + nice)
        )
        # At least the number of priority groups (derived and recorded may overlap).
        listed = func.json_array_length(person.derived_groups) + func.json_array_length(
            person.recorded_groups
        )
        apart = select(person).where(
            person.status.in_(sorted(MATCHABLE)),
            within_scope(SeekerRow.path, principal, within),
            ~shares.exists(),
        )
        if offer.kind == "public_welfare":
            apart = apart.where(listed > 0)
        steps = _depth(person.path) + len(offer.path) - 2 * _common_depth(person.path, offer.path)
        accepted = case(
            (sql_cast(person.hours, String).contains(f'"{offer.hours}"', autoescape=True), 1),
            else_=0,
        )
        others = (
            case(
                (func.json_array_length(person.preferred_paths) > 0, matching.DISTANCE_MAX),
                else_=_distance_points(steps),
            )
            + _hours_points(accepted, offer.hours_per_week - person.max_hours_per_week)
            + _wage_points(person.wage_expectation_fen, offer.wage_fen)
        )
        apart_bound = _zero_overlap_bound(
            literal(len(required)), literal(len(nice)), others, _priority_points(listed)
        )

        def apart_exact(found: Any) -> tuple[matching.RankKey, str]:
            profile = seeker_profile(store.seeker_snapshot(found[0]))
            total = matching.score(profile, offer).total
            return matching.seeker_rank(total, profile), profile.seeker_id

        coarse = literal(apart_most - matching.PRIORITY_MAX) + _priority_points(listed)
        more_scored, more = await _zero_overlap(
            session, apart, coarse, apart_bound, person.id, apart_exact, top
        )
        scored, prefiltered = scored + more_scored, prefiltered + more
    winners = cast(list[str], top.best())
    candidates = []
    if winners:
        rows = {
            r.id: r
            for r in (await session.scalars(select(SeekerRow).where(SeekerRow.id.in_(winners))))
        }
        for seeker_id in winners:
            state = store.seeker_snapshot(rows[seeker_id])
            profile = seeker_profile(state)
            candidates.append(
                Candidate(seeker_id, matching.score(profile, offer), state.priority_groups, False)
            )
    best = await _with_courses(session, candidates, today or current_date())
    return vacancy, Ranking(tuple(best), prefiltered, scored)


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
    person = seeker_profile(seeker)
    groups = len(person.priority_groups)
    row = VacancySkillRow
    required_covered = func.sum(case((row.required, 1), else_=0))
    nice_covered = func.sum(case((row.required, 0), else_=1))
    required, nice = func.max(row.required_count), func.max(row.nice_count)
    path, depth = func.max(row.path), func.max(row.depth)
    mask, per_week, wage = (
        func.max(row.hours_mask),
        func.max(row.hours_per_week),
        func.max(row.wage_fen),
    )
    partner = func.max(sql_cast(row.training_partner, Integer))
    kind = func.max(row.kind)
    steps = depth + len(person.path) - 2 * _common_depth(path, person.path)
    near = [
        (path.startswith(path_text(preferred), autoescape=True), matching.DISTANCE_MAX)
        for preferred in person.preferred_paths
    ]
    accepted = mask.op("&")(store.hours_mask(person.hours))
    bound = (
        _skill_points(required, required_covered, nice, nice_covered)
        + (case(*near, else_=_distance_points(steps)) if near else _distance_points(steps))
        + _hours_points(accepted, per_week - person.max_hours_per_week)
        + (
            literal(matching.WAGE_MAX)
            if person.wage_expectation_fen is None
            else _wage_points(literal(person.wage_expectation_fen), wage)
        )
        + matching.priority_points(groups)
        + ROUNDING_MARGIN
    ).label("bound")
    where: list[ColumnElement[bool]] = [row.skill.in_(sorted(person.covered))]
    if within is not None:
        where.append(row.path.contains(f"/{within}/", autoescape=True))
    if not groups:
        where.append(row.kind != "public_welfare")
    query = (
        select(row.vacancy_id, required_covered, nice_covered, required, nice, path, mask)
        .add_columns(per_week, wage, partner, kind, func.count().over().label("candidates"), bound)
        .where(*where)
        .group_by(row.vacancy_id)
        .order_by(bound.desc(), partner.desc(), row.vacancy_id)
    )

    def exact(found: Any) -> tuple[matching.RankKey, str]:
        offer = matching.VacancyProfile(
            vacancy_id=found.vacancy_id,
            kind=found[10],
            path=path_ids(found[5]),
            required=frozenset(),
            nice=frozenset(),
            hours=next(iter(store.hours_of_mask(found[6]))),
            hours_per_week=found[7],
            wage_fen=found[8],
            training_partner=bool(found[9]),
        )
        total = matching.total_from_counts(
            seeker=person,
            vacancy=offer,
            required=int(found[3]),
            required_covered=int(found[1]),
            nice=int(found[4]),
            nice_covered=int(found[2]),
            groups=groups,
        )
        return matching.vacancy_rank(total, offer), found.vacancy_id

    top = matching.TopK(limit)
    scored, prefiltered = await _top(session, query, exact, top)
    priority = matching.priority_points(groups)
    if _zero_overlap_most(0, 0, priority) >= top.threshold():
        post = VacancyRow
        shares = select(row.vacancy_id).where(
            row.vacancy_id == post.id, row.skill.in_(sorted(person.covered))
        )
        apart = select(post).where(post.status == "open", ~shares.exists())
        if within is not None:
            apart = apart.where(post.path.contains(f"/{within}/", autoescape=True))
        if not groups:
            apart = apart.where(post.kind != "public_welfare")
        steps = _depth(post.path) + len(person.path) - 2 * _common_depth(post.path, person.path)
        places = [
            (post.path.startswith(path_text(preferred), autoescape=True), matching.DISTANCE_MAX)
            for preferred in person.preferred_paths
        ]
        accepted_hours = case((post.hours.in_(sorted(person.hours)), 1), else_=0)
        others = (
            (case(*places, else_=_distance_points(steps)) if places else _distance_points(steps))
            + _hours_points(accepted_hours, post.hours_per_week - person.max_hours_per_week)
            + (
                literal(matching.WAGE_MAX)
                if person.wage_expectation_fen is None
                else _wage_points(literal(person.wage_expectation_fen), post.wage_fen)
            )
        )
        apart_bound = _zero_overlap_bound(
            func.json_array_length(post.required_skills),
            func.json_array_length(post.nice_skills),
            others,
            priority,
        )

        def apart_exact(found: Any) -> tuple[matching.RankKey, str]:
            offer = vacancy_profile(store.vacancy_snapshot(found[0]))
            total = matching.score(person, offer).total
            return matching.vacancy_rank(total, offer), offer.vacancy_id

        required_count = func.json_array_length(post.required_skills)
        nice_count = func.json_array_length(post.nice_skills)
        coarse = _zero_overlap_bound(
            required_count, nice_count, literal(matching.OTHER_TERMS_MAX), priority
        )
        more_scored, more = await _zero_overlap(
            session, apart, coarse, apart_bound, post.id, apart_exact, top
        )
        scored, prefiltered = scored + more_scored, prefiltered + more
    winners = cast(list[str], top.best())
    candidates = []
    if winners:
        rows = {
            r.id: r
            for r in (await session.scalars(select(VacancyRow).where(VacancyRow.id.in_(winners))))
        }
        for vacancy_id in winners:
            offer = vacancy_profile(store.vacancy_snapshot(rows[vacancy_id]))
            candidates.append(
                Candidate(
                    vacancy_id, matching.score(person, offer), frozenset(), offer.training_partner
                )
            )
    best = await _with_courses(session, candidates, today or current_date())
    return seeker, Ranking(tuple(best), prefiltered, scored)


async def _top(
    session: AsyncSession,
    query: Any,
    exact: Any,
    top: matching.TopK,
) -> tuple[int, int]:
    """Offer to ``top`` the candidates of ``query`` (ordered by bound, with columns
    ``candidates`` and ``bound``) scored exactly by ``exact``, reading further chunks only while
    the next bound can still reach the k-th best exact score; how many were scored; how many
    candidates there were."""
    offset, chunk, scored, candidates = 0, max(FIRST_CHUNK, top.k), 0, 0
    while True:
        rows = (await session.execute(query.limit(chunk + 1).offset(offset))).all()
        candidates = int(rows[0].candidates) if rows else candidates
        for found in rows[:chunk]:
            key, ident = exact(found)
            top.offer(key, ident)
            scored += 1
        if len(rows) <= chunk or rows[chunk].bound < top.threshold():
            break
        offset += chunk
        chunk *= 2
    return scored, candidates


def _zero_overlap_most(required: int, nice: int, priority: float) -> float:
    """The most a candidate sharing no skill with the other side can score (with the rounding
    margin): full coverage only when there are no skills to cover, −15 for every required skill,
    the most the distance, hours and wage terms give, and ``priority`` points."""
    coverage = matching.SKILL_COVERAGE_MAX if required + nice == 0 else 0.0
    return (
        coverage
        - required * matching.MISSING_REQUIRED_PENALTY
        + matching.OTHER_TERMS_MAX
        + priority
        + ROUNDING_MARGIN
    )


def _zero_overlap_bound(
    required: Any, nice: Any, others: ColumnElement[Any], priority: Any
) -> ColumnElement[Any]:
    """An upper bound of the score of a candidate sharing no skill with the other side, from
    the numbers of skills, the distance, hours and wage terms' bound (``others``) and the
    priority points, with the rounding margin."""
    coverage = case((required + nice == 0, matching.SKILL_COVERAGE_MAX), else_=0.0)
    return cast(
        ColumnElement[Any],
        coverage
        - required * matching.MISSING_REQUIRED_PENALTY
        + others
        + priority
        + ROUNDING_MARGIN,
    )


def _depth(column: Any) -> ColumnElement[Any]:
    """How many areas a stored path (``/a/b/c/``) names."""
    return func.length(column) - func.length(func.replace(column, "/", "")) - 1


async def _zero_overlap(
    session: AsyncSession,
    query: Any,
    coarse: ColumnElement[Any],
    bound: ColumnElement[Any],
    ident: Any,
    exact: Any,
    top: matching.TopK,
) -> tuple[int, int]:
    """Offer to ``top`` the candidates sharing no skill with the other side (``query``, not
    yet ordered) whose bound can still reach the k-th best exact score, best bound first;
    ``coarse``, a cheaper bound at least as high, is tested first."""
    threshold = top.threshold()
    if threshold != float("-inf"):
        query = query.where(coarse >= threshold, bound >= threshold)
    query = query.add_columns(
        func.count().over().label("candidates"), bound.label("bound")
    ).order_by(bound.desc(), ident)
    return await _top(session, query, exact, top)


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
