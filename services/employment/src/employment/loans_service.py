"""Use cases for micro-loans: apply, record the guarantee, approve, disburse, repay
(commands), the periodic review that finds arrears and defaults, and get/list (queries).
Loans are confined to the borrower's area; amounts are integer fen."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.tables import InstalmentRow, LoanRow, RepaymentRow
from employment.domain.loans import Loan, LoanSnapshot, LoanStatus
from employment.scope import confine, current_date, within_scope
from employment.seekers_service import load_seeker
from shared import audit
from shared.auth import Principal
from shared.contracts.employment import GuaranteeKind
from shared.errors import Conflict, NotFound
from shared.unit_of_work import UnitOfWork


async def apply_for_loan(
    uow: UnitOfWork,
    *,
    principal: Principal,
    seeker_id: str,
    amount_fen: int,
    term_months: int,
    today: date | None = None,
) -> LoanSnapshot:
    """A seeker of the token's area applies for a micro-loan (``loan.applied``); 409 while
    another loan of theirs is not settled."""
    seeker = (await load_seeker(uow.session, principal=principal, seeker_id=seeker_id)).state
    if seeker.status == "withdrawn":
        raise Conflict(f"seeker {seeker_id} has withdrawn")
    unsettled = await uow.session.scalar(
        select(LoanRow.id).where(LoanRow.seeker_id == seeker_id, LoanRow.status.not_in(("repaid",)))
    )
    if unsettled is not None:
        raise Conflict(f"seeker {seeker_id} has loan {unsettled} not yet repaid")
    loan = Loan.apply(
        loan_id=str(uuid.uuid4()),
        seeker_id=seeker_id,
        community_id=seeker.community_id,
        path=seeker.path,
        amount_fen=amount_fen,
        term_months=term_months,
        today=today or current_date(),
    )
    uow.track(loan)
    await store.save_loan(uow.session, loan)
    audit.record_change(uow, principal, "create", "loan", loan.state.id, loan.state.path)
    return loan.state


async def _loan(session: AsyncSession, principal: Principal, loan_id: str) -> Loan:
    loan = await store.get_loan(session, loan_id, for_update=True)
    if loan is None:
        raise NotFound(f"no loan {loan_id}")
    confine(principal, loan.state.path)
    return loan


async def guarantee_loan(
    uow: UnitOfWork, *, principal: Principal, loan_id: str, guarantee: GuaranteeKind
) -> LoanSnapshot:
    """Record the loan's guarantee (``loan.guaranteed``)."""
    loan = await _loan(uow.session, principal, loan_id)
    uow.track(loan)
    audit.record_change(uow, principal, "update", "loan", loan.state.id, loan.state.path)
    loan.guarantee(guarantee)
    await store.save_loan(uow.session, loan)
    return loan.state


async def approve_loan(
    uow: UnitOfWork, *, principal: Principal, loan_id: str, approved_on: date
) -> LoanSnapshot:
    """Approve a guaranteed loan (``loan.approved``)."""
    loan = await _loan(uow.session, principal, loan_id)
    uow.track(loan)
    audit.record_change(uow, principal, "update", "loan", loan.state.id, loan.state.path)
    loan.approve(on=approved_on)
    await store.save_loan(uow.session, loan)
    return loan.state


async def disburse_loan(
    uow: UnitOfWork, *, principal: Principal, loan_id: str, disbursed_on: date
) -> LoanSnapshot:
    """Pay out an approved loan and fix its schedule (``loan.disbursed``)."""
    loan = await _loan(uow.session, principal, loan_id)
    uow.track(loan)
    audit.record_change(uow, principal, "update", "loan", loan.state.id, loan.state.path)
    loan.disburse(on=disbursed_on)
    await store.save_loan(uow.session, loan)
    return loan.state


async def repay_loan(
    uow: UnitOfWork, *, principal: Principal, loan_id: str, amount_fen: int, paid_on: date
) -> LoanSnapshot:
    """Receive a repayment (``loan.repaid``), oldest instalments first."""
    loan = await _loan(uow.session, principal, loan_id)
    uow.track(loan)
    audit.record_change(uow, principal, "update", "loan", loan.state.id, loan.state.path)
    loan.repay(amount_fen=amount_fen, on=paid_on)
    uow.session.add(RepaymentRow(loan_id=loan_id, paid_on=paid_on, amount_fen=amount_fen))
    await store.save_loan(uow.session, loan)
    return loan.state


async def review_loans(uow: UnitOfWork, *, today: date | None = None) -> int:
    """The periodic job: loans with an instalment past due go into arrears
    (``loan.in_arrears``), 90 days past due into default (``loan.defaulted``); how many
    changed."""
    day = today or current_date()
    late = select(InstalmentRow.loan_id).where(
        InstalmentRow.due_on < day, InstalmentRow.paid_fen < InstalmentRow.amount_fen
    )
    loan_ids = (
        await uow.session.scalars(
            select(LoanRow.id).where(
                LoanRow.status.in_(("disbursed", "in_arrears")), LoanRow.id.in_(late)
            )
        )
    ).all()
    changed = 0
    for loan_id in loan_ids:
        loan = await store.get_loan(uow.session, loan_id, for_update=True)
        assert loan is not None
        uow.track(loan)
        if loan.review(day):
            changed += 1
            await store.save_loan(uow.session, loan)
    return changed


# -- queries -------------------------------------------------------------------------------


async def get_loan(session: AsyncSession, *, principal: Principal, loan_id: str) -> LoanSnapshot:
    """One loan with its schedule (404 outside the token's area)."""
    loan = await store.get_loan(session, loan_id)
    if loan is None:
        raise NotFound(f"no loan {loan_id}")
    confine(principal, loan.state.path)
    return loan.state


async def list_loans(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    status: LoanStatus | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[LoanSnapshot]:
    """Loans by id in the token's area, of one status."""
    query = select(LoanRow.id).where(within_scope(LoanRow.path, principal, within))
    if status is not None:
        query = query.where(LoanRow.status == status)
    if after is not None:
        query = query.where(LoanRow.id > after)
    found = []
    for loan_id in (await session.scalars(query.order_by(LoanRow.id).limit(limit))).all():
        loan = await store.get_loan(session, loan_id)
        assert loan is not None
        found.append(loan.state)
    return found
