"""Use cases for job seekers and their concession card: register, update, withdraw, issue and
revoke the card (commands, on the unit of work); get and list (queries, on a session). Seekers
are confined to their community's area."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.tables import ResidentRow, SeekerRow
from employment.domain import groups as group_rules
from employment.domain.seekers import (
    Education,
    Preferences,
    RevocationReason,
    Seeker,
    SeekerSnapshot,
    WithdrawalReason,
)
from employment.domain.taxonomy import taxonomy
from employment.scope import confine, current_date, known_area, within_scope
from shared import audit
from shared.auth import Principal
from shared.contracts.employment import Hours, PriorityGroup, SeekerStatus
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def preferences(
    session: AsyncSession,
    principal: Principal,
    *,
    hours: Sequence[Hours],
    max_hours_per_week: int,
    wage_expectation_fen: int | None,
    preferred_area_ids: Sequence[str],
) -> Preferences:
    """Preferences with the paths of the preferred areas (422 for an unknown one)."""
    paths = [
        await known_area(
            session, Principal("system", frozenset()), area_id, field="preferred_area_ids"
        )
        for area_id in preferred_area_ids
    ]
    return Preferences(
        hours=frozenset(hours),
        max_hours_per_week=max_hours_per_week,
        wage_expectation_fen=wage_expectation_fen,
        preferred_area_ids=tuple(preferred_area_ids),
        preferred_paths=tuple(paths),
    ).check()


async def register_seeker(
    uow: UnitOfWork,
    *,
    principal: Principal,
    resident_id: str,
    recorded_groups: Sequence[str],
    skills: Sequence[str],
    education: Education,
    hours: Sequence[Hours],
    max_hours_per_week: int,
    wage_expectation_fen: int | None,
    preferred_area_ids: Sequence[str],
    today: date | None = None,
    seeker_id: str | None = None,
) -> SeekerSnapshot:
    """Register a resident known from the registry's events as a job seeker
    (``seeker.registered``); 409 when they already are one."""
    row = await uow.session.get(ResidentRow, resident_id)
    if row is None or not principal.may_access(store.resident_facts(row).path):
        raise InvalidInput(
            "unknown resident",
            errors=[
                FieldError("resident_id", f"no resident {resident_id} known from the registry")
            ],
        )
    if await store.seeker_of_resident(uow.session, resident_id) is not None:
        raise Conflict(f"resident {resident_id} is already registered as a seeker")
    seeker = Seeker.register(
        seeker_id=seeker_id or str(uuid.uuid4()),
        resident=store.resident_facts(row),
        recorded_groups=group_rules.recorded_groups(recorded_groups),
        skills=taxonomy().validate(skills, field="skills"),
        education=education,
        preferences=await preferences(
            uow.session,
            principal,
            hours=hours,
            max_hours_per_week=max_hours_per_week,
            wage_expectation_fen=wage_expectation_fen,
            preferred_area_ids=preferred_area_ids,
        ),
        today=today or current_date(),
    )
    uow.track(seeker)
    await store.save_seeker(uow.session, seeker)
    _audit(uow, principal, "create", seeker)
    return seeker.state


def _audit(uow: UnitOfWork, principal: Principal, action: str, seeker: Seeker) -> None:
    """The audit row of a change to a seeker's record (:mod:`shared.audit`)."""
    state = seeker.state
    audit.record_change(uow, principal, action, "seeker", state.id, state.path)


async def load_seeker(
    session: AsyncSession, *, principal: Principal, seeker_id: str, for_update: bool = False
) -> Seeker:
    """A seeker inside the token's area (404 otherwise)."""
    seeker = await store.get_seeker(session, seeker_id, for_update=for_update)
    if seeker is None:
        raise NotFound(f"no seeker {seeker_id}")
    confine(principal, seeker.state.path)
    return seeker


async def update_seeker(
    uow: UnitOfWork,
    *,
    principal: Principal,
    seeker_id: str,
    recorded_groups: Sequence[str] | None = None,
    skills: Sequence[str] | None = None,
    education: Education | None = None,
    hours: Sequence[Hours] | None = None,
    max_hours_per_week: int | None = None,
    wage_expectation_fen: int | None = None,
    preferred_area_ids: Sequence[str] | None = None,
) -> SeekerSnapshot:
    """Change what the community recorded of a seeker (``seeker.updated`` when something
    changed)."""
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=seeker_id, for_update=True
    )
    uow.track(seeker)
    _audit(uow, principal, "update", seeker)
    old = seeker.state.preferences
    new_preferences = None
    if any(
        v is not None for v in (hours, max_hours_per_week, wage_expectation_fen, preferred_area_ids)
    ):
        new_preferences = await preferences(
            uow.session,
            principal,
            hours=sorted(old.hours) if hours is None else hours,
            max_hours_per_week=old.max_hours_per_week
            if max_hours_per_week is None
            else max_hours_per_week,
            wage_expectation_fen=old.wage_expectation_fen
            if wage_expectation_fen is None
            else wage_expectation_fen,
            preferred_area_ids=old.preferred_area_ids
            if preferred_area_ids is None
            else preferred_area_ids,
        )
    if seeker.update(
        recorded_groups=None
        if recorded_groups is None
        else group_rules.recorded_groups(recorded_groups),
        skills=None if skills is None else taxonomy().validate(skills, field="skills"),
        education=education,
        preferences=new_preferences,
    ):
        await store.save_seeker(uow.session, seeker)
    return seeker.state


async def withdraw_seeker(
    uow: UnitOfWork,
    *,
    principal: Principal,
    seeker_id: str,
    reason: WithdrawalReason,
    withdrawn_on: date,
) -> SeekerSnapshot:
    """Withdraw a seeker for good (``seeker.withdrawn``; 409 when already withdrawn)."""
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=seeker_id, for_update=True
    )
    uow.track(seeker)
    _audit(uow, principal, "update", seeker)
    seeker.withdraw(reason=reason, on=withdrawn_on)
    await store.save_seeker(uow.session, seeker)
    return seeker.state


async def issue_card(
    uow: UnitOfWork, *, principal: Principal, seeker_id: str, today: date | None = None
) -> SeekerSnapshot:
    """Issue the reemployment concession card (``seeker.card_issued``)."""
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=seeker_id, for_update=True
    )
    uow.track(seeker)
    _audit(uow, principal, "update", seeker)
    state = seeker.state
    completed = state.card_revocation is None or await store.completed_required_since(
        uow.session, seeker_id, state.card_changed_on
    )
    seeker.issue_card(
        on=today or current_date(), completed_required_training_since_revocation=completed
    )
    await store.save_seeker(uow.session, seeker)
    return seeker.state


async def revoke_card(
    uow: UnitOfWork,
    *,
    principal: Principal,
    seeker_id: str,
    reason: RevocationReason = "other",
    today: date | None = None,
) -> SeekerSnapshot:
    """Revoke the concession card (``seeker.card_revoked``; 409 when none is held)."""
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=seeker_id, for_update=True
    )
    uow.track(seeker)
    _audit(uow, principal, "update", seeker)
    seeker.revoke_card(reason=reason, on=today or current_date())
    await store.save_seeker(uow.session, seeker)
    return seeker.state


# -- queries -------------------------------------------------------------------------------


async def get_seeker(
    session: AsyncSession, *, principal: Principal, seeker_id: str
) -> SeekerSnapshot:
    """One seeker (404 when missing or outside the token's area)."""
    return (await load_seeker(session, principal=principal, seeker_id=seeker_id)).state


async def list_seekers(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    status: SeekerStatus | None = None,
    group: PriorityGroup | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[SeekerSnapshot]:
    """Seekers by id in the token's area (and ``within``), of one status and/or group."""
    query = select(SeekerRow).where(within_scope(SeekerRow.path, principal, within))
    if status is not None:
        query = query.where(SeekerRow.status == status)
    if after is not None:
        query = query.where(SeekerRow.id > after)
    found: list[SeekerSnapshot] = []
    # the group filter runs on the snapshot (groups are a JSON list), page by page
    while len(found) < limit:
        rows = (await session.scalars(query.order_by(SeekerRow.id).limit(limit))).all()
        if not rows:
            break
        for row in rows:
            state = store.seeker_snapshot(row)
            if group is None or group in state.priority_groups:
                found.append(state)
        query = query.where(SeekerRow.id > rows[-1].id)
    return found[:limit]
