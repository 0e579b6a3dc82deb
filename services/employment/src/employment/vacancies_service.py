"""Use cases for employers, vacancies and public-welfare quotas: register an employer, post,
revise and close a vacancy, set a community's quota (commands); get and list them and the
vacancy change stream for integrators (queries).

Vacancies and employers are public offers: every token reads them; only a token whose area
holds the place of work changes a vacancy (404 otherwise).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.paths import path_text
from employment.adapters.tables import EmployerRow, VacancyRow, WelfareQuotaRow
from employment.domain import vacancies
from employment.domain.taxonomy import taxonomy
from employment.scope import confine, known_area, within_scope
from shared.auth import Principal
from shared.contracts.employment import EmployerKind, Hours, VacancyKind
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def register_employer(
    uow: UnitOfWork,
    *,
    principal: Principal,
    name: str,
    kind: EmployerKind,
    community_id: str,
    training_partner: bool,
    employer_id: str | None = None,
) -> vacancies.EmployerSnapshot:
    """Register an employer in a community of the token's area (``employer.registered``)."""
    path = await known_area(uow.session, principal, community_id, field="community_id")
    state = vacancies.EmployerSnapshot(
        id=employer_id or str(uuid.uuid4()),
        name=name,
        kind=kind,
        community_id=community_id,
        path=path,
        training_partner=training_partner,
    )
    await store.save_employer(uow.session, state)
    uow.record(vacancies.EmployerRegistered(state))
    return state


def _terms(
    *,
    title: str,
    required_skills: list[str],
    nice_skills: list[str],
    hours: Hours,
    hours_per_week: int,
    wage_fen: int,
    posts: int,
    max_tenure_months: int | None,
) -> vacancies.VacancyTerms:
    codes = taxonomy()
    return vacancies.VacancyTerms(
        title=title,
        required_skills=codes.validate(required_skills, field="required_skills"),
        nice_skills=codes.validate(nice_skills, field="nice_skills"),
        hours=hours,
        hours_per_week=hours_per_week,
        wage_fen=wage_fen,
        posts=posts,
        max_tenure_months=max_tenure_months,
    )


async def post_vacancy(
    uow: UnitOfWork,
    *,
    principal: Principal,
    employer_id: str,
    kind: VacancyKind,
    place_id: str,
    title: str,
    required_skills: list[str],
    nice_skills: list[str],
    hours: Hours,
    hours_per_week: int,
    wage_fen: int,
    posts: int,
    max_tenure_months: int | None = None,
    vacancy_id: str | None = None,
) -> vacancies.VacancySnapshot:
    """Post a vacancy at a community or street of the token's area (``vacancy.posted``); a
    public-welfare vacancy must fit its community's quota (409)."""
    employer = await store.get_employer(uow.session, employer_id)
    if employer is None:
        raise InvalidInput(
            "unknown employer", errors=[FieldError("employer_id", f"no employer {employer_id}")]
        )
    path = await known_area(uow.session, principal, place_id, field="place_id")
    terms = _terms(
        title=title,
        required_skills=required_skills,
        nice_skills=nice_skills,
        hours=hours,
        hours_per_week=hours_per_week,
        wage_fen=wage_fen,
        posts=posts,
        max_tenure_months=max_tenure_months,
    )
    if kind == "public_welfare":
        if len(path) != 4:
            raise InvalidInput(
                "public-welfare posts belong to a community",
                errors=[FieldError("place_id", "a public-welfare post's place is a community")],
            )
        vacancies.check_welfare_quota(
            quota=await store.welfare_quota(uow.session, place_id),
            in_use=await store.welfare_posts_in_use(uow.session, place_id),
            adding=terms.posts,
            community_id=place_id,
        )
    vacancy = vacancies.Vacancy.post(
        vacancy_id=vacancy_id or str(uuid.uuid4()),
        employer=employer,
        kind=kind,
        community_id=place_id,
        path=path,
        terms=terms,
    )
    uow.track(vacancy)
    await store.save_vacancy(uow.session, vacancy)
    return vacancy.state


async def load_vacancy(
    session: AsyncSession, *, vacancy_id: str, for_update: bool = False
) -> vacancies.Vacancy:
    """A vacancy (404 when missing)."""
    vacancy = await store.get_vacancy(session, vacancy_id, for_update=for_update)
    if vacancy is None:
        raise NotFound(f"no vacancy {vacancy_id}")
    return vacancy


async def revise_vacancy(
    uow: UnitOfWork,
    *,
    principal: Principal,
    vacancy_id: str,
    title: str,
    required_skills: list[str],
    nice_skills: list[str],
    hours: Hours,
    hours_per_week: int,
    wage_fen: int,
    posts: int,
    max_tenure_months: int | None = None,
) -> vacancies.VacancySnapshot:
    """Replace the terms of an open vacancy (``vacancy.updated``, or ``vacancy.filled`` when the
    posts are now all filled); more public-welfare posts must fit the quota."""
    vacancy = await load_vacancy(uow.session, vacancy_id=vacancy_id, for_update=True)
    confine(principal, vacancy.state.path)
    uow.track(vacancy)
    terms = _terms(
        title=title,
        required_skills=required_skills,
        nice_skills=nice_skills,
        hours=hours,
        hours_per_week=hours_per_week,
        wage_fen=wage_fen,
        posts=posts,
        max_tenure_months=max_tenure_months,
    )
    state = vacancy.state
    if state.kind == "public_welfare" and terms.posts > state.terms.posts:
        vacancies.check_welfare_quota(
            quota=await store.welfare_quota(uow.session, state.community_id),
            in_use=await store.welfare_posts_in_use(uow.session, state.community_id),
            adding=terms.posts - state.terms.posts,
            community_id=state.community_id,
        )
    if vacancy.revise(terms):
        await store.save_vacancy(uow.session, vacancy)
    return vacancy.state


async def close_vacancy(
    uow: UnitOfWork, *, principal: Principal, vacancy_id: str
) -> vacancies.VacancySnapshot:
    """Withdraw an open vacancy (``vacancy.closed``; 409 unless open)."""
    vacancy = await load_vacancy(uow.session, vacancy_id=vacancy_id, for_update=True)
    confine(principal, vacancy.state.path)
    uow.track(vacancy)
    vacancy.close()
    await store.save_vacancy(uow.session, vacancy)
    return vacancy.state


@dataclass(frozen=True)
class WelfareQuota:
    """A community's public-welfare quota and its use."""

    community_id: str
    posts: int
    in_use: int


async def set_welfare_quota(
    uow: UnitOfWork, *, principal: Principal, community_id: str, posts: int
) -> WelfareQuota:
    """Set how many public-welfare posts a community of the token's area may have; not below
    the posts in use (409)."""
    path = await known_area(uow.session, principal, community_id, field="community_id")
    if len(path) != 4:
        raise InvalidInput(
            "not a community", errors=[FieldError("community_id", "quotas are per community")]
        )
    in_use = await store.welfare_posts_in_use(uow.session, community_id)
    if posts < in_use:
        raise InvalidInput(
            "quota below use",
            errors=[FieldError("posts", f"{in_use} public-welfare posts are in use")],
        )
    row = await uow.session.get(WelfareQuotaRow, community_id)
    if row is None:
        row = WelfareQuotaRow(community_id=community_id, path=path_text(path))
        uow.session.add(row)
    row.posts = posts
    return WelfareQuota(community_id, posts, in_use)


# -- queries -------------------------------------------------------------------------------


async def get_vacancy(session: AsyncSession, *, vacancy_id: str) -> vacancies.VacancySnapshot:
    """One vacancy (every token reads vacancies)."""
    return (await load_vacancy(session, vacancy_id=vacancy_id)).state


async def get_employer(session: AsyncSession, *, employer_id: str) -> vacancies.EmployerSnapshot:
    """One employer (every token reads employers)."""
    found = await store.get_employer(session, employer_id)
    if found is None:
        raise NotFound(f"no employer {employer_id}")
    return found


async def list_employers(
    session: AsyncSession, *, within: str | None = None, after: str | None = None, limit: int = 100
) -> list[vacancies.EmployerSnapshot]:
    """Employers by id, in ``within``."""
    query = select(EmployerRow).where(
        EmployerRow.path.contains(f"/{within}/", autoescape=True)
        if within
        else EmployerRow.id.is_not(None)
    )
    if after is not None:
        query = query.where(EmployerRow.id > after)
    rows = (await session.scalars(query.order_by(EmployerRow.id).limit(limit))).all()
    return [store.employer_snapshot(row) for row in rows]


async def list_vacancies(
    session: AsyncSession,
    *,
    within: str | None = None,
    status: vacancies.VacancyStatus | None = None,
    kind: VacancyKind | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[vacancies.VacancySnapshot]:
    """Vacancies by id whose place lies in ``within``, of one status and/or kind."""
    query = select(VacancyRow)
    if within is not None:
        query = query.where(VacancyRow.path.contains(f"/{within}/", autoescape=True))
    if status is not None:
        query = query.where(VacancyRow.status == status)
    if kind is not None:
        query = query.where(VacancyRow.kind == kind)
    if after is not None:
        query = query.where(VacancyRow.id > after)
    rows = (await session.scalars(query.order_by(VacancyRow.id).limit(limit))).all()
    return [store.vacancy_snapshot(row) for row in rows]


async def vacancy_changes(
    session: AsyncSession,
    *,
    since: datetime,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[tuple[datetime, vacancies.VacancySnapshot]]:
    """Vacancies changed after ``since`` (posted, revised, filled, closed), oldest change
    first, each with the moment of its last change; ``after`` continues from a (moment, id)."""
    query = select(VacancyRow).where(VacancyRow.changed_at > since)
    if after is not None:
        moment, last_id = after
        query = query.where(
            or_(
                VacancyRow.changed_at > moment,
                (VacancyRow.changed_at == moment) & (VacancyRow.id > last_id),
            )
        )
    rows = (
        await session.scalars(query.order_by(VacancyRow.changed_at, VacancyRow.id).limit(limit))
    ).all()
    return [(row.changed_at, store.vacancy_snapshot(row)) for row in rows]


async def list_welfare_quotas(
    session: AsyncSession, *, principal: Principal, within: str | None = None
) -> list[WelfareQuota]:
    """Quotas of the communities in the token's area, with the posts in use."""
    rows = (
        await session.scalars(
            select(WelfareQuotaRow)
            .where(within_scope(WelfareQuotaRow.path, principal, within))
            .order_by(WelfareQuotaRow.community_id)
        )
    ).all()
    return [
        WelfareQuota(
            row.community_id, row.posts, await store.welfare_posts_in_use(session, row.community_id)
        )
        for row in rows
    ]
