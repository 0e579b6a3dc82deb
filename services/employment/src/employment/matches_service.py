"""Use cases for matches and placements: propose a seeker for a vacancy (scored now, public-
welfare eligibility enforced), decline, accept (which makes the placement: the vacancy fills a
post, the seeker is placed, retention checks are scheduled), record retention checks, and the
periodic job that turns checks that fell due into follow-up tasks. Matches and placements are
confined to the seeker's area."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.paths import path_ids
from employment.adapters.tables import MatchRow, PlacementRow, RetentionCheckRow, SeekerRow
from employment.domain import matching, vacancies
from employment.domain.matches import Match, MatchSnapshot
from employment.domain.placements import Placement, PlacementSnapshot
from employment.matcher import seeker_profile, vacancy_profile
from employment.scope import confine, current_date, within_scope
from employment.seekers_service import load_seeker
from employment.vacancies_service import load_vacancy
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.unit_of_work import UnitOfWork


async def propose_match(
    uow: UnitOfWork, *, principal: Principal, vacancy_id: str, seeker_id: str
) -> MatchSnapshot:
    """Propose a seeker of the token's area for an open vacancy (``match.proposed``): 409 for
    a seeker not looking for work, a vacancy not open, a public-welfare post for a seeker in
    no priority group, or a pair already proposed."""
    seeker = (await load_seeker(uow.session, principal=principal, seeker_id=seeker_id)).state
    vacancy = (await load_vacancy(uow.session, vacancy_id=vacancy_id)).state
    if seeker.status not in ("seeking", "in_training"):
        raise Conflict(f"seeker {seeker_id} is {seeker.status}")
    if vacancy.status != "open":
        raise Conflict(f"vacancy {vacancy_id} is {vacancy.status}")
    seeker_side, vacancy_side = seeker_profile(seeker), vacancy_profile(vacancy)
    if not matching.eligible(seeker_side, vacancy_side):
        raise Conflict("public-welfare posts go only to seekers in a priority group")
    pending = await uow.session.scalar(
        select(MatchRow.id).where(
            MatchRow.vacancy_id == vacancy_id,
            MatchRow.seeker_id == seeker_id,
            MatchRow.status != "declined",
        )
    )
    if pending is not None:
        raise Conflict(f"seeker {seeker_id} is already matched to vacancy {vacancy_id}")
    match = Match.propose(
        MatchSnapshot(
            id=str(uuid.uuid4()),
            vacancy_id=vacancy_id,
            seeker_id=seeker_id,
            path=vacancy.path,
            vacancy_kind=vacancy.kind,
            priority_groups=seeker.priority_groups,
            score=matching.score(seeker_side, vacancy_side),
            status="proposed",
        )
    )
    uow.track(match)
    await store.save_match(uow.session, match, seeker_path=seeker.path)
    audit.record_change(uow, principal, "propose", "match", match.state.id, seeker.path)
    return match.state


async def _match(session: AsyncSession, principal: Principal, match_id: str) -> Match:
    found = await store.get_match(session, match_id)
    if found is None:
        raise NotFound(f"no match {match_id}")
    match, seeker_path = found
    confine(principal, path_ids(seeker_path))
    return match


async def decline_match(
    uow: UnitOfWork,
    *,
    principal: Principal,
    match_id: str,
    declined_by: Literal["seeker", "employer"],
) -> MatchSnapshot:
    """Decline a proposed match (``match.declined``)."""
    match = await _match(uow.session, principal, match_id)
    uow.track(match)
    match.decline(declined_by)
    seeker = await store.get_seeker(uow.session, match.state.seeker_id)
    assert seeker is not None
    await store.save_match(uow.session, match, seeker_path=seeker.state.path)
    audit.record_change(uow, principal, "decline", "match", match.state.id, seeker.state.path)
    return match.state


async def accept_match(
    uow: UnitOfWork,
    *,
    principal: Principal,
    match_id: str,
    started_on: date,
) -> PlacementSnapshot:
    """Accept a proposed match and place the seeker from ``started_on``
    (``match.accepted``, ``placement.made``, ``vacancy.updated``/``filled``,
    ``seeker.updated``). A public-welfare placement ends when the person's maximum tenure on
    such posts is reached (409 when it already is)."""
    match = await _match(uow.session, principal, match_id)
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=match.state.seeker_id, for_update=True
    )
    vacancy = await load_vacancy(uow.session, vacancy_id=match.state.vacancy_id, for_update=True)
    uow.track(match, vacancy, seeker)
    match.accept()
    ends_on = None
    if vacancy.state.kind == "public_welfare":
        assert vacancy.state.terms.max_tenure_months is not None
        ends_on = vacancies.welfare_end(
            start=started_on,
            max_tenure_months=vacancy.state.terms.max_tenure_months,
            served_days=await store.welfare_days_served(uow.session, seeker.state.id, started_on),
        )
    vacancy.fill_one()
    seeker.set_status("placed")
    placement = Placement.make(
        placement_id=str(uuid.uuid4()),
        match_id=match.state.id,
        seeker_id=seeker.state.id,
        vacancy_id=vacancy.state.id,
        employer_id=vacancy.state.employer_id,
        vacancy_kind=vacancy.state.kind,
        community_id=seeker.state.community_id,
        path=seeker.state.path,
        priority_groups=seeker.state.priority_groups,
        started_on=started_on,
        ends_on=ends_on,
    )
    uow.track(placement)
    await store.save_match(uow.session, match, seeker_path=seeker.state.path)
    await store.save_vacancy(uow.session, vacancy)
    await store.save_seeker(uow.session, seeker)
    await store.save_placement(
        uow.session, placement, vacancy_community_id=vacancy.state.community_id
    )
    audit.record_change(uow, principal, "accept", "match", match.state.id, seeker.state.path)
    audit.record_change(
        uow, principal, "create", "placement", placement.state.id, seeker.state.path
    )
    return placement.state


async def _placement(
    session: AsyncSession, principal: Principal, placement_id: str, *, for_update: bool = False
) -> Placement:
    placement = await store.get_placement(session, placement_id, for_update=for_update)
    if placement is None:
        raise NotFound(f"no placement {placement_id}")
    confine(principal, placement.state.path)
    return placement


async def record_retention_check(
    uow: UnitOfWork,
    *,
    principal: Principal,
    placement_id: str,
    months: int,
    passed: bool,
    checked_on: date,
) -> PlacementSnapshot:
    """Record a retention check (``placement.retention_checked``; ``placement.reemployed`` when
    the 3-month check passes). A failed check ends the placement and the seeker seeks again."""
    placement = await _placement(uow.session, principal, placement_id, for_update=True)
    uow.track(placement)
    placement.record_check(months=months, passed=passed, on=checked_on)
    if not passed:
        seeker = await store.get_seeker(uow.session, placement.state.seeker_id, for_update=True)
        assert seeker is not None
        uow.track(seeker)
        if seeker.state.status == "placed":
            seeker.set_status("seeking")
            await store.save_seeker(uow.session, seeker)
    await store.save_placement(uow.session, placement)
    audit.record_change(
        uow, principal, "retention-check", "placement", placement.state.id, placement.state.path
    )
    return placement.state


async def mark_due_checks(uow: UnitOfWork, *, today: date | None = None) -> int:
    """The periodic job: turn every scheduled retention check due by today into a follow-up
    task (``placement.retention_due``); how many."""
    day = today or current_date()
    placement_ids = (
        await uow.session.scalars(
            select(RetentionCheckRow.placement_id)
            .where(RetentionCheckRow.status == "scheduled", RetentionCheckRow.due_on <= day)
            .distinct()
        )
    ).all()
    count = 0
    for placement_id in placement_ids:
        placement = await store.get_placement(uow.session, placement_id, for_update=True)
        assert placement is not None
        uow.track(placement)
        if placement.state.status == "active" and placement.mark_due(day):
            count += 1
            await store.save_placement(uow.session, placement)
    return count


# -- queries -------------------------------------------------------------------------------


async def get_match(
    session: AsyncSession, *, principal: Principal, match_id: str
) -> tuple[MatchSnapshot, tuple[str, ...]]:
    """One match and its seeker's area path (404 outside the token's area)."""
    found = await store.get_match(session, match_id)
    if found is None:
        raise NotFound(f"no match {match_id}")
    seeker_path = path_ids(found[1])
    confine(principal, seeker_path)
    return found[0].state, seeker_path


async def seeker_paths(session: AsyncSession, seeker_ids: list[str]) -> dict[str, str]:
    """Seeker id → its stored area path, for the audit of a ranking's reads."""
    if not seeker_ids:
        return {}
    rows = await session.execute(
        select(SeekerRow.id, SeekerRow.path).where(SeekerRow.id.in_(seeker_ids))
    )
    return {seeker_id: path for seeker_id, path in rows}


async def get_placement(
    session: AsyncSession, *, principal: Principal, placement_id: str
) -> PlacementSnapshot:
    """One placement with its checks (404 outside the token's area)."""
    return (await _placement(session, principal, placement_id)).state


async def list_placements(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    check_due: bool = False,
    after: str | None = None,
    limit: int = 100,
) -> list[PlacementSnapshot]:
    """Placements by id in the token's area; with ``check_due`` only those with a retention
    check due (the follow-up tasks)."""
    query = select(PlacementRow).where(within_scope(PlacementRow.path, principal, within))
    if check_due:
        due = select(RetentionCheckRow.placement_id).where(RetentionCheckRow.status == "due")
        query = query.where(PlacementRow.id.in_(due))
    if after is not None:
        query = query.where(PlacementRow.id > after)
    rows = (await session.scalars(query.order_by(PlacementRow.id).limit(limit))).all()
    found = []
    for row in rows:
        checks = (
            await session.scalars(
                select(RetentionCheckRow)
                .where(RetentionCheckRow.placement_id == row.id)
                .order_by(RetentionCheckRow.months)
            )
        ).all()
        found.append(store.placement_snapshot(row, checks))
    return found
