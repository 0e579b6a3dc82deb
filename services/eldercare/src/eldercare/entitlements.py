"""Use cases of age entitlements: the daily proposal job, staff decisions, the monthly
subsidy ledger and their queries (:mod:`eldercare.domain.entitlements`).

:func:`propose_due` proposes, for every rule, every enrolled elder who has reached its age
(exact once the registry's age milestone told it) and has no entitlement of that kind yet: on
the day it falls due when the job runs daily, and on the first run after any downtime for
every day missed. The unique key (elder, kind) keeps a
proposal from being made twice even by two jobs at once (the second transaction fails and
the next run finds nothing left). :func:`pay_subsidies` writes, for every granted monthly
entitlement, each month it owes and has not paid (unique key (entitlement, month)).
:func:`pay_hardship_subsidy` pays a hardship medical subsidy casework approved, once per case
(unique key (case)).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare import clock
from eldercare.adapters import store
from eldercare.adapters.tables import ElderRow, EntitlementRow, PaymentRow
from eldercare.domain.entitlements import (
    HARDSHIP_MEDICAL_MATTER,
    Entitlement,
    EntitlementRule,
    EntitlementSnapshot,
    EntitlementStatus,
    HardshipSubsidyPaid,
    SubsidyPaid,
    latest_birth_year_due,
    months_payable,
)
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.eldercare import EntitlementKind
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PAGE = 1000
"""Elders read per query by :func:`propose_due`."""


def _rule(rules: Sequence[EntitlementRule], kind: str) -> EntitlementRule:
    for rule in rules:
        if rule.kind == kind:
            return rule
    raise InvalidInput("no rule for this entitlement", errors=[FieldError("kind", kind)])


async def propose_due(
    uow: UnitOfWork, *, rules: Sequence[EntitlementRule], today: date, limit: int = 5000
) -> int:
    """Propose every entitlement due by ``today`` and not yet proposed (at most ``limit`` per
    call); how many. Elders born early enough are read in pages by id; each is proposed when
    their age today (exact after an age milestone) has reached the rule's."""
    proposed = 0
    for rule in rules:
        missing = ~exists().where(
            and_(
                EntitlementRow.resident_id == ElderRow.resident_id, EntitlementRow.kind == rule.kind
            )
        )
        query = (
            select(ElderRow)
            .where(
                ElderRow.status == "enrolled",
                ElderRow.birth_year <= latest_birth_year_due(rule, today),
                missing,
            )
            .order_by(ElderRow.resident_id)
            .limit(PAGE)
        )
        after = ""
        while proposed < limit:
            rows = list(await uow.session.scalars(query.where(ElderRow.resident_id > after)))
            if not rows:
                break
            after = rows[-1].resident_id
            for row in rows:
                elder = store.elder_snapshot(row)
                if elder.age(today) < rule.age or proposed >= limit:
                    continue
                entitlement = Entitlement.propose(
                    rule,
                    resident_id=row.resident_id,
                    community_id=row.community_id,
                    path=store.path_ids(row.path),
                    due_on=elder.day_reached(rule.age),
                    today=today,
                )
                uow.track(entitlement)
                await store.save_entitlement(uow.session, entitlement)
                proposed += 1
        if proposed >= limit:
            break
    return proposed


async def _entitlement(
    session: AsyncSession, principal: Principal, entitlement_id: str
) -> Entitlement:
    entitlement = await store.get_entitlement(session, entitlement_id)
    if entitlement is None:
        raise NotFound(f"no entitlement {entitlement_id}")
    ensure_area(principal, entitlement.state.path)
    return entitlement


async def grant(
    uow: UnitOfWork,
    *,
    principal: Principal,
    entitlement_id: str,
    rules: Sequence[EntitlementRule],
    monthly_amount_fen: int,
    today: date | None = None,
) -> EntitlementSnapshot:
    """Grant a proposed entitlement (a subsidy's monthly amount is fixed now)."""
    entitlement = await _entitlement(uow.session, principal, entitlement_id)
    uow.track(entitlement)
    entitlement.grant(
        rule=_rule(rules, entitlement.state.kind),
        today=today or clock.today(),
        by=principal.subject,
        monthly_amount_fen=monthly_amount_fen,
    )
    await store.save_entitlement(uow.session, entitlement)
    _audit(uow, principal, "grant", entitlement)
    return entitlement.state


async def decline(
    uow: UnitOfWork,
    *,
    principal: Principal,
    entitlement_id: str,
    reason: str,
    today: date | None = None,
) -> EntitlementSnapshot:
    """Decline a proposed entitlement with a reason code."""
    entitlement = await _entitlement(uow.session, principal, entitlement_id)
    uow.track(entitlement)
    entitlement.decline(reason=reason, today=today or clock.today(), by=principal.subject)
    await store.save_entitlement(uow.session, entitlement)
    _audit(uow, principal, "decline", entitlement)
    return entitlement.state


def _audit(uow: UnitOfWork, principal: Principal, action: str, entitlement: Entitlement) -> None:
    """The audit row of a decision on an elder's entitlement (:mod:`shared.audit`)."""
    state = entitlement.state
    audit.record_change(uow, principal, action, "entitlement", state.id, state.path)


async def pay_subsidies(uow: UnitOfWork, *, rules: Sequence[EntitlementRule], today: date) -> int:
    """Write every month owed by every granted monthly entitlement; how many lines."""
    monthly = [rule.kind for rule in rules if rule.monthly]
    if not monthly:
        return 0
    query = (
        select(EntitlementRow, ElderRow.ended_on)
        .join(ElderRow, ElderRow.resident_id == EntitlementRow.resident_id)
        .where(EntitlementRow.status == "granted", EntitlementRow.kind.in_(monthly))
        .order_by(EntitlementRow.id)
    )
    found = list(await uow.session.execute(query))
    paid: dict[str, list[date]] = {}
    if found:
        rows = await uow.session.execute(
            select(PaymentRow.entitlement_id, PaymentRow.month).where(
                PaymentRow.entitlement_id.in_([row.id for row, _ in found])
            )
        )
        for entitlement_id, month in rows:
            if entitlement_id is not None:
                paid.setdefault(entitlement_id, []).append(month)
    written = 0
    for row, ended_on in found:
        entitlement = store.entitlement_snapshot(row)
        amount = entitlement.monthly_amount_fen or 0
        for month in months_payable(
            due=entitlement.due_on, today=today, ended_on=ended_on, paid=paid.get(row.id, ())
        ):
            payment = SubsidyPaid(str(uuid.uuid4()), entitlement, month, amount, today)
            uow.session.add(
                PaymentRow(
                    id=payment.payment_id,
                    entitlement_id=entitlement.id,
                    resident_id=entitlement.resident_id,
                    path=row.path,
                    kind=entitlement.kind,
                    month=month,
                    amount_fen=amount,
                    paid_on=today,
                )
            )
            uow.record(payment)
            written += 1
    return written


async def pay_hardship_subsidy(
    uow: UnitOfWork,
    *,
    case_id: str,
    matter_code: str,
    outcome: str,
    resident_id: str | None,
    community_id: str,
    path: Sequence[str],
    amount_fen: int | None,
    decided_on: date,
    today: date,
) -> HardshipSubsidyPaid | None:
    """Pay a hardship medical subsidy casework approved (``case.decided``), once per case: a
    duplicate or a later decision of the same (reopened) case pays nothing. Other matters,
    denials and decisions without a resident or an amount (events from before casework stated
    them) pay nothing either."""
    if matter_code != HARDSHIP_MEDICAL_MATTER or outcome != "approved":
        return None
    if resident_id is None or amount_fen is None:
        log.warning(
            "hardship subsidy decision without resident or amount", extra={"case_id": case_id}
        )
        return None
    paid = await uow.session.scalar(select(PaymentRow.id).where(PaymentRow.case_id == case_id))
    if paid is not None:
        return None
    payment = HardshipSubsidyPaid(
        payment_id=str(uuid.uuid4()),
        case_id=case_id,
        resident_id=resident_id,
        community_id=community_id,
        path=tuple(path),
        amount_fen=amount_fen,
        decided_on=decided_on,
        paid_on=today,
    )
    uow.session.add(
        PaymentRow(
            id=payment.payment_id,
            entitlement_id=None,
            case_id=case_id,
            resident_id=resident_id,
            path=store.path_text(path),
            kind="hardship_medical_subsidy",
            month=payment.month,
            amount_fen=amount_fen,
            paid_on=today,
        )
    )
    uow.record(payment)
    return payment


async def list_entitlements(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    status: EntitlementStatus | None = None,
    kind: EntitlementKind | None = None,
    resident_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[EntitlementSnapshot]:
    """Entitlements by id in the token's area (and ``within``)."""
    query = select(EntitlementRow).where(store.in_area(EntitlementRow.path, principal.area, within))
    if status is not None:
        query = query.where(EntitlementRow.status == status)
    if kind is not None:
        query = query.where(EntitlementRow.kind == kind)
    if resident_id is not None:
        query = query.where(EntitlementRow.resident_id == resident_id)
    if after is not None:
        query = query.where(EntitlementRow.id > after)
    rows = await session.scalars(query.order_by(EntitlementRow.id).limit(limit))
    return [store.entitlement_snapshot(row) for row in rows]


async def list_payments(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    resident_id: str | None = None,
    month: date | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[PaymentRow]:
    """Ledger lines by id in the token's area (and ``within``)."""
    query = select(PaymentRow).where(store.in_area(PaymentRow.path, principal.area, within))
    if resident_id is not None:
        query = query.where(PaymentRow.resident_id == resident_id)
    if month is not None:
        query = query.where(PaymentRow.month == month.replace(day=1))
    if after is not None:
        query = query.where(PaymentRow.id > after)
    return list(await session.scalars(query.order_by(PaymentRow.id).limit(limit)))
