"""Loading and saving the employment service's entities (its events go with the unit of work).

Saving a seeker or a vacancy also keeps its rows of the matching index: a matchable seeker has
one ``seeker_skill`` row per skill it covers, an open vacancy one ``vacancy_skill`` row per skill
it names; others have none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters.paths import path_ids, path_text
from employment.adapters.tables import (
    AreaRow,
    CourseRow,
    EmployerRow,
    EnrolmentRow,
    InstalmentRow,
    LoanRow,
    MatchRow,
    PlacementRow,
    ResidentRow,
    RetentionCheckRow,
    SeekerRow,
    SeekerSkillRow,
    VacancyRow,
    VacancySkillRow,
    WelfareQuotaRow,
)
from employment.domain import loans, placements, seekers, training, vacancies
from employment.domain.groups import ResidentFacts
from employment.domain.matches import Match, MatchSnapshot
from employment.domain.matching import Score, Term
from employment.domain.taxonomy import taxonomy
from shared.ages import KnownAge, better, stored
from shared.contracts.employment import Hours, PriorityGroup


def now() -> datetime:
    """The current moment (UTC)."""
    return datetime.now(UTC)


HOURS_BITS: dict[str, int] = {"full_time": 1, "part_time": 2, "flexible": 4}
"""Bits of the working times in the matching index's ``hours_mask``."""


def hours_mask(hours: Iterable[str]) -> int:
    """The bit mask of working times."""
    mask = 0
    for kind in hours:
        mask |= HOURS_BITS[kind]
    return mask


def hours_of_mask(mask: int) -> frozenset[Hours]:
    """The working times of a bit mask."""
    return frozenset(cast(Hours, kind) for kind, bit in HOURS_BITS.items() if mask & bit)


def preferred_text(paths: Iterable[Iterable[str]]) -> str:
    """Preferred areas' paths as the matching index stores them (``;``-joined)."""
    return ";".join(path_text(path) for path in paths)


def preferred_paths(text: str) -> tuple[tuple[str, ...], ...]:
    """The preferred areas' paths of the matching index's text."""
    return tuple(path_ids(part) for part in text.split(";") if part)


def _groups(values: list[str]) -> frozenset[PriorityGroup]:
    return frozenset(cast(list[PriorityGroup], values))


# -- areas and residents -------------------------------------------------------------------


async def area_path(session: AsyncSession, area_id: str) -> tuple[str, ...] | None:
    """Path of a current area known from the registry's events."""
    row = await session.get(AreaRow, area_id)
    return None if row is None or row.retired else path_ids(row.path)


def resident_facts(row: ResidentRow) -> ResidentFacts:
    """The facts of a resident row."""
    return ResidentFacts(
        resident_id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        sex=row.sex,
        birth_year=row.birth_year,
        employment_status=row.employment_status,
        disabled=row.disabled,
        registration=row.registration,
        flags=tuple(row.flags),
        present=row.present,
        known_age=stored(row.known_age, row.known_age_on, row.known_age_exact),
    )


def keep_age(row: ResidentRow, known: KnownAge | None) -> bool:
    """Keep ``known`` on a resident row if it is better than the one there; whether it was."""
    current = stored(row.known_age, row.known_age_on, row.known_age_exact)
    best = better(current, known)
    if best is None or best == current:
        return False
    row.known_age, row.known_age_on, row.known_age_exact = best.age, best.on, best.exact
    return True


# -- seekers -------------------------------------------------------------------------------


def seeker_snapshot(row: SeekerRow) -> seekers.SeekerSnapshot:
    """The state of a seeker row."""
    return seekers.SeekerSnapshot(
        id=row.id,
        resident_id=row.resident_id,
        community_id=row.community_id,
        path=path_ids(row.path),
        derived_groups=_groups(row.derived_groups),
        recorded_groups=_groups(row.recorded_groups),
        skills=tuple(row.skills),
        education=cast(seekers.Education, row.education),
        preferences=seekers.Preferences(
            hours=frozenset(cast(list[Hours], row.hours)),
            max_hours_per_week=row.max_hours_per_week,
            wage_expectation_fen=row.wage_expectation_fen,
            preferred_area_ids=tuple(row.preferred_area_ids),
            preferred_paths=tuple(tuple(path) for path in row.preferred_paths),
        ),
        status=cast(Any, row.status),
        card=cast(seekers.CardStatus, row.card),
        card_changed_on=row.card_changed_on,
        card_revocation=cast(Any, row.card_revocation),
        registered_on=row.registered_on,
        version=row.version,
    )


async def get_seeker(
    session: AsyncSession, seeker_id: str, *, for_update: bool = False
) -> seekers.Seeker | None:
    """A seeker, or None."""
    query = select(SeekerRow).where(SeekerRow.id == seeker_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    return None if row is None else seekers.Seeker(seeker_snapshot(row))


async def seeker_of_resident(session: AsyncSession, resident_id: str) -> seekers.Seeker | None:
    """The seeker a resident is, or None."""
    row = (
        await session.scalars(select(SeekerRow).where(SeekerRow.resident_id == resident_id))
    ).one_or_none()
    return None if row is None else seekers.Seeker(seeker_snapshot(row))


async def save_seeker(session: AsyncSession, seeker: seekers.Seeker) -> None:
    """Insert or update a seeker and its rows of the matching index."""
    state = seeker.state
    row = await session.get(SeekerRow, state.id)
    if row is None:
        row = SeekerRow(id=state.id)
        session.add(row)
    prefs = state.preferences
    row.resident_id = state.resident_id
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.derived_groups = sorted(state.derived_groups)
    row.recorded_groups = sorted(state.recorded_groups)
    row.skills = list(state.skills)
    row.education = state.education
    row.hours = sorted(prefs.hours)
    row.max_hours_per_week = prefs.max_hours_per_week
    row.wage_expectation_fen = prefs.wage_expectation_fen
    row.preferred_area_ids = list(prefs.preferred_area_ids)
    row.preferred_paths = [list(path) for path in prefs.preferred_paths]
    row.status = state.status
    row.card = state.card
    row.card_changed_on = state.card_changed_on
    row.card_revocation = state.card_revocation
    row.registered_on = state.registered_on
    row.version = state.version
    row.updated_at = now()
    await session.flush()
    await session.execute(delete(SeekerSkillRow).where(SeekerSkillRow.seeker_id == state.id))
    if state.status in seekers.MATCHABLE:
        session.add_all(
            SeekerSkillRow(
                skill=code,
                seeker_id=state.id,
                groups=len(state.priority_groups),
                path=row.path,
                depth=len(state.path),
                hours_mask=hours_mask(prefs.hours),
                max_hours=prefs.max_hours_per_week,
                wage_fen=prefs.wage_expectation_fen,
                preferred=preferred_text(prefs.preferred_paths),
            )
            for code in sorted(taxonomy().covered(state.skills))
        )


# -- employers and vacancies -------------------------------------------------------------


def employer_snapshot(row: EmployerRow) -> vacancies.EmployerSnapshot:
    """The state of an employer row."""
    return vacancies.EmployerSnapshot(
        id=row.id,
        name=row.name,
        kind=cast(Any, row.kind),
        community_id=row.community_id,
        path=path_ids(row.path),
        training_partner=row.training_partner,
    )


async def get_employer(
    session: AsyncSession, employer_id: str
) -> vacancies.EmployerSnapshot | None:
    """An employer, or None."""
    row = await session.get(EmployerRow, employer_id)
    return None if row is None else employer_snapshot(row)


async def save_employer(session: AsyncSession, state: vacancies.EmployerSnapshot) -> None:
    """Insert an employer."""
    session.add(
        EmployerRow(
            id=state.id,
            name=state.name,
            kind=state.kind,
            community_id=state.community_id,
            path=path_text(state.path),
            training_partner=state.training_partner,
        )
    )


def vacancy_snapshot(row: VacancyRow) -> vacancies.VacancySnapshot:
    """The state of a vacancy row."""
    return vacancies.VacancySnapshot(
        id=row.id,
        employer_id=row.employer_id,
        kind=cast(Any, row.kind),
        community_id=row.community_id,
        path=path_ids(row.path),
        terms=vacancies.VacancyTerms(
            title=row.title,
            required_skills=tuple(row.required_skills),
            nice_skills=tuple(row.nice_skills),
            hours=cast(Hours, row.hours),
            hours_per_week=row.hours_per_week,
            wage_fen=row.wage_fen,
            posts=row.posts,
            max_tenure_months=row.max_tenure_months,
        ),
        filled=row.filled,
        status=cast(Any, row.status),
        training_partner=row.training_partner,
        version=row.version,
    )


async def get_vacancy(
    session: AsyncSession, vacancy_id: str, *, for_update: bool = False
) -> vacancies.Vacancy | None:
    """A vacancy, or None."""
    query = select(VacancyRow).where(VacancyRow.id == vacancy_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    return None if row is None else vacancies.Vacancy(vacancy_snapshot(row))


async def save_vacancy(session: AsyncSession, vacancy: vacancies.Vacancy) -> None:
    """Insert or update a vacancy and its rows of the matching index."""
    state = vacancy.state
    terms = state.terms
    row = await session.get(VacancyRow, state.id)
    if row is None:
        row = VacancyRow(id=state.id)
        session.add(row)
    row.employer_id = state.employer_id
    row.kind = state.kind
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.title = terms.title
    row.required_skills = list(terms.required_skills)
    row.nice_skills = list(terms.nice_skills)
    row.hours = terms.hours
    row.hours_per_week = terms.hours_per_week
    row.wage_fen = terms.wage_fen
    row.posts = terms.posts
    row.filled = state.filled
    row.max_tenure_months = terms.max_tenure_months
    row.status = state.status
    row.training_partner = state.training_partner
    row.version = state.version
    row.changed_at = now()
    await session.flush()
    await session.execute(delete(VacancySkillRow).where(VacancySkillRow.vacancy_id == state.id))
    if state.status == "open":
        session.add_all(
            VacancySkillRow(
                skill=code,
                vacancy_id=state.id,
                required=required,
                required_count=len(terms.required_skills),
                nice_count=len(terms.nice_skills),
                kind=state.kind,
                path=row.path,
                depth=len(state.path),
                hours_mask=hours_mask([terms.hours]),
                hours_per_week=terms.hours_per_week,
                wage_fen=terms.wage_fen,
                training_partner=state.training_partner,
            )
            for codes, required in ((terms.required_skills, True), (terms.nice_skills, False))
            for code in codes
        )


async def welfare_quota(session: AsyncSession, community_id: str) -> int | None:
    """A community's quota of public-welfare posts, or None."""
    row = await session.get(WelfareQuotaRow, community_id)
    return None if row is None else row.posts


async def welfare_posts_in_use(session: AsyncSession, community_id: str) -> int:
    """Unfilled posts of open public-welfare vacancies plus active public-welfare placements
    in a community."""
    open_posts = await session.scalar(
        select(func.coalesce(func.sum(VacancyRow.posts - VacancyRow.filled), 0)).where(
            VacancyRow.kind == "public_welfare",
            VacancyRow.status == "open",
            VacancyRow.community_id == community_id,
        )
    )
    placed = await session.scalar(
        select(func.count()).where(
            PlacementRow.vacancy_kind == "public_welfare",
            PlacementRow.status == "active",
            PlacementRow.vacancy_community_id == community_id,
        )
    )
    return int(open_posts or 0) + int(placed or 0)


async def welfare_days_served(session: AsyncSession, seeker_id: str, today: date) -> int:
    """Days a seeker has held public-welfare posts (until today for one under way)."""
    rows = await session.execute(
        select(PlacementRow.started_on, PlacementRow.ended_on, PlacementRow.ends_on).where(
            PlacementRow.seeker_id == seeker_id, PlacementRow.vacancy_kind == "public_welfare"
        )
    )
    total = 0
    for started_on, ended_on, ends_on in rows:
        last = ended_on or min(today, ends_on or today)
        total += max(0, (last - started_on).days)
    return total


# -- matches -------------------------------------------------------------------------------


def match_snapshot(row: MatchRow) -> MatchSnapshot:
    """The state of a match row."""
    return MatchSnapshot(
        id=row.id,
        vacancy_id=row.vacancy_id,
        seeker_id=row.seeker_id,
        path=path_ids(row.path),
        vacancy_kind=cast(Any, row.vacancy_kind),
        priority_groups=_groups(row.priority_groups),
        score=Score(
            row.score,
            tuple(Term(t["term"], t["points"], t["reason"]) for t in row.terms),
            tuple(row.missing_required),
        ),
        status=cast(Any, row.status),
        declined_by=cast(Any, row.declined_by),
    )


async def get_match(session: AsyncSession, match_id: str) -> tuple[Match, str] | None:
    """A match and its seeker's stored path, or None."""
    row = (
        await session.scalars(select(MatchRow).where(MatchRow.id == match_id).with_for_update())
    ).one_or_none()
    return None if row is None else (Match(match_snapshot(row)), row.seeker_path)


async def save_match(session: AsyncSession, match: Match, *, seeker_path: tuple[str, ...]) -> None:
    """Insert or update a match."""
    state = match.state
    row = await session.get(MatchRow, state.id)
    if row is None:
        row = MatchRow(id=state.id, created_at=now())
        session.add(row)
    row.vacancy_id = state.vacancy_id
    row.seeker_id = state.seeker_id
    row.path = path_text(state.path)
    row.seeker_path = path_text(seeker_path)
    row.vacancy_kind = state.vacancy_kind
    row.priority_groups = sorted(state.priority_groups)
    row.score = state.score.total
    row.terms = [
        {"term": t.term, "points": t.points, "reason": t.reason} for t in state.score.terms
    ]
    row.missing_required = list(state.score.missing_required)
    row.status = state.status
    row.declined_by = state.declined_by


# -- training ------------------------------------------------------------------------------


def course_snapshot(row: CourseRow) -> training.CourseSnapshot:
    """The state of a course row."""
    return training.CourseSnapshot(
        id=row.id,
        title=row.title,
        community_id=row.community_id,
        path=path_ids(row.path),
        skills=tuple(row.skills),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        sessions=row.sessions,
        capacity=row.capacity,
        enrolled=row.enrolled,
    )


async def get_course(
    session: AsyncSession, course_id: str, *, for_update: bool = False
) -> training.CourseSnapshot | None:
    """A course, or None."""
    query = select(CourseRow).where(CourseRow.id == course_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    return None if row is None else course_snapshot(row)


async def save_course(session: AsyncSession, state: training.CourseSnapshot) -> None:
    """Insert or update a course."""
    row = await session.get(CourseRow, state.id)
    if row is None:
        row = CourseRow(id=state.id)
        session.add(row)
    row.title = state.title
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.skills = list(state.skills)
    row.starts_on = state.starts_on
    row.ends_on = state.ends_on
    row.sessions = state.sessions
    row.capacity = state.capacity
    row.enrolled = state.enrolled


async def get_enrolment(
    session: AsyncSession, enrolment_id: str, *, for_update: bool = False
) -> training.Enrolment | None:
    """An enrolment with its course, or None."""
    query = select(EnrolmentRow).where(EnrolmentRow.id == enrolment_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    if row is None:
        return None
    course = await get_course(session, row.course_id)
    assert course is not None
    return training.Enrolment(enrolment_snapshot(row, course))


def enrolment_snapshot(
    row: EnrolmentRow, course: training.CourseSnapshot
) -> training.EnrolmentSnapshot:
    """The state of an enrolment row."""
    return training.EnrolmentSnapshot(
        id=row.id,
        course=course,
        seeker_id=row.seeker_id,
        seeker_path=path_ids(row.seeker_path),
        required=row.required,
        status=cast(Any, row.status),
        sessions_attended=row.sessions_attended,
        ended_on=row.ended_on,
    )


async def save_enrolment(session: AsyncSession, enrolment: training.Enrolment) -> None:
    """Insert or update an enrolment."""
    state = enrolment.state
    row = await session.get(EnrolmentRow, state.id)
    if row is None:
        row = EnrolmentRow(id=state.id)
        session.add(row)
    row.course_id = state.course.id
    row.seeker_id = state.seeker_id
    row.seeker_path = path_text(state.seeker_path)
    row.required = state.required
    row.status = state.status
    row.sessions_attended = state.sessions_attended
    row.ended_on = state.ended_on


async def completed_required_since(session: AsyncSession, seeker_id: str, day: date | None) -> bool:
    """Whether the seeker completed required training on or after ``day``."""
    query = select(func.count()).where(
        EnrolmentRow.seeker_id == seeker_id,
        EnrolmentRow.required.is_(True),
        EnrolmentRow.status == "completed",
    )
    if day is not None:
        query = query.where(EnrolmentRow.ended_on >= day)
    return bool(await session.scalar(query))


# -- placements ----------------------------------------------------------------------------


async def get_placement(
    session: AsyncSession, placement_id: str, *, for_update: bool = False
) -> placements.Placement | None:
    """A placement with its checks, or None."""
    query = select(PlacementRow).where(PlacementRow.id == placement_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    if row is None:
        return None
    checks = (
        await session.scalars(
            select(RetentionCheckRow)
            .where(RetentionCheckRow.placement_id == placement_id)
            .order_by(RetentionCheckRow.months)
        )
    ).all()
    return placements.Placement(placement_snapshot(row, checks))


def placement_snapshot(row: PlacementRow, checks: Any) -> placements.PlacementSnapshot:
    """The state of a placement row and its check rows."""
    return placements.PlacementSnapshot(
        id=row.id,
        match_id=row.match_id,
        seeker_id=row.seeker_id,
        vacancy_id=row.vacancy_id,
        employer_id=row.employer_id,
        vacancy_kind=cast(Any, row.vacancy_kind),
        community_id=row.community_id,
        path=path_ids(row.path),
        priority_groups=_groups(row.priority_groups),
        started_on=row.started_on,
        ends_on=row.ends_on,
        status=cast(Any, row.status),
        reemployed_on=row.reemployed_on,
        checks=tuple(
            placements.RetentionCheck(
                cast(Any, check.months), check.due_on, cast(Any, check.status), check.checked_on
            )
            for check in checks
        ),
    )


async def save_placement(
    session: AsyncSession, placement: placements.Placement, *, vacancy_community_id: str = ""
) -> None:
    """Insert or update a placement and its checks (``vacancy_community_id``, where the post
    is, is needed for a new placement)."""
    state = placement.state
    row = await session.get(PlacementRow, state.id)
    if row is None:
        row = PlacementRow(id=state.id, vacancy_community_id=vacancy_community_id)
        session.add(row)
    row.match_id = state.match_id
    row.seeker_id = state.seeker_id
    row.vacancy_id = state.vacancy_id
    row.employer_id = state.employer_id
    row.vacancy_kind = state.vacancy_kind
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.priority_groups = sorted(state.priority_groups)
    row.started_on = state.started_on
    row.ends_on = state.ends_on
    if state.status == "ended" and row.ended_on is None:
        failed = [c.checked_on for c in state.checks if c.status == "failed"]
        row.ended_on = failed[0] if failed else None
    row.status = state.status
    row.reemployed_on = state.reemployed_on
    await session.flush()
    for check in state.checks:
        found = await session.get(RetentionCheckRow, (state.id, check.months))
        if found is None:
            found = RetentionCheckRow(placement_id=state.id, months=check.months)
            session.add(found)
        found.due_on = check.due_on
        found.status = check.status
        found.checked_on = check.checked_on


# -- loans ---------------------------------------------------------------------------------


async def get_loan(
    session: AsyncSession, loan_id: str, *, for_update: bool = False
) -> loans.Loan | None:
    """A loan with its schedule, or None."""
    query = select(LoanRow).where(LoanRow.id == loan_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    if row is None:
        return None
    instalments = (
        await session.scalars(
            select(InstalmentRow)
            .where(InstalmentRow.loan_id == loan_id)
            .order_by(InstalmentRow.number)
        )
    ).all()
    return loans.Loan(loan_snapshot(row, instalments))


def loan_snapshot(row: LoanRow, instalments: Any) -> loans.LoanSnapshot:
    """The state of a loan row and its instalment rows."""
    return loans.LoanSnapshot(
        id=row.id,
        seeker_id=row.seeker_id,
        community_id=row.community_id,
        path=path_ids(row.path),
        amount_fen=row.amount_fen,
        term_months=row.term_months,
        status=cast(Any, row.status),
        guarantee=cast(Any, row.guarantee),
        applied_on=row.applied_on,
        approved_on=row.approved_on,
        disbursed_on=row.disbursed_on,
        instalments=tuple(
            loans.Instalment(i.number, i.due_on, i.amount_fen, i.paid_fen) for i in instalments
        ),
        arrears_since=row.arrears_since,
    )


async def save_loan(session: AsyncSession, loan: loans.Loan) -> None:
    """Insert or update a loan and its schedule."""
    state = loan.state
    row = await session.get(LoanRow, state.id)
    if row is None:
        row = LoanRow(id=state.id)
        session.add(row)
    row.seeker_id = state.seeker_id
    row.community_id = state.community_id
    row.path = path_text(state.path)
    row.amount_fen = state.amount_fen
    row.term_months = state.term_months
    row.status = state.status
    row.guarantee = state.guarantee
    row.applied_on = state.applied_on
    row.approved_on = state.approved_on
    row.disbursed_on = state.disbursed_on
    row.arrears_since = state.arrears_since
    await session.flush()
    for instalment in state.instalments:
        found = await session.get(InstalmentRow, (state.id, instalment.number))
        if found is None:
            found = InstalmentRow(loan_id=state.id, number=instalment.number)
            session.add(found)
        found.due_on = instalment.due_on
        found.amount_fen = instalment.amount_fen
        found.paid_fen = instalment.paid_fen
