"""Routes for micro-loans: application, guarantee, approval, disbursement with its schedule,
repayments; arrears and default come from the periodic review."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from employment import loans_service as service
from employment.api.deps import Reader, Within, WriteCommand, after_id
from employment.domain.loans import LoanSnapshot, LoanStatus
from shared.audit import AuditTrail
from shared.contracts.employment import GuaranteeKind
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(prefix="/loans", tags=["loans"])


class LoanIn(BaseModel):
    """An application for a micro-loan."""

    model_config = ConfigDict(extra="forbid")

    seeker_id: Text = Field(max_length=36)
    amount_fen: StrictInt = Field(description="Principal in fen (at most 5,000,000 = 50,000 yuan).")
    term_months: StrictInt = Field(description="Term in months, 1 to 36.")


class GuaranteeIn(BaseModel):
    """The guarantee of a loan."""

    model_config = ConfigDict(extra="forbid")

    guarantee: GuaranteeKind


class ApprovalIn(BaseModel):
    """Approval of a loan."""

    model_config = ConfigDict(extra="forbid")

    approved_on: Day


class DisbursementIn(BaseModel):
    """Disbursement of a loan."""

    model_config = ConfigDict(extra="forbid")

    disbursed_on: Day


class RepaymentIn(BaseModel):
    """A repayment."""

    model_config = ConfigDict(extra="forbid")

    amount_fen: StrictInt = Field(description="Amount in fen.")
    paid_on: Day


class InstalmentOut(BaseModel):
    """One instalment."""

    number: int
    due_on: date
    amount_fen: int
    paid_fen: int


class LoanOut(BaseModel):
    """A micro-loan."""

    id: str
    seeker_id: str
    community_id: str
    amount_fen: int
    term_months: int
    status: LoanStatus
    guarantee: GuaranteeKind | None
    applied_on: date
    approved_on: date | None
    disbursed_on: date | None
    outstanding_fen: int
    arrears_since: date | None
    schedule: list[InstalmentOut]

    @classmethod
    def of(cls, state: LoanSnapshot) -> LoanOut:
        """The API view of a loan."""
        return cls(
            id=state.id,
            seeker_id=state.seeker_id,
            community_id=state.community_id,
            amount_fen=state.amount_fen,
            term_months=state.term_months,
            status=state.status,
            guarantee=state.guarantee,
            applied_on=state.applied_on,
            approved_on=state.approved_on,
            disbursed_on=state.disbursed_on,
            outstanding_fen=state.outstanding_fen,
            arrears_since=state.arrears_since,
            schedule=[
                InstalmentOut(
                    number=i.number, due_on=i.due_on, amount_fen=i.amount_fen, paid_fen=i.paid_fen
                )
                for i in state.instalments
            ],
        )


class LoanPage(Page[LoanOut]):
    """One page of loans."""


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LoanOut)
async def apply_for_loan(body: LoanIn, command: WriteCommand) -> JSONResponse:
    """A seeker applies for a micro-loan (``loan.applied``)."""
    return await command.run(
        service.apply_for_loan,
        LoanOut.of,
        status=status.HTTP_201_CREATED,
        seeker_id=body.seeker_id,
        amount_fen=body.amount_fen,
        term_months=body.term_months,
    )


@router.get("", response_model=LoanPage)
async def list_loans(
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Within = None,
    status_: Annotated[LoanStatus | None, Query(alias="status")] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> LoanPage:
    """Loans by id in the token's area (each read is audited)."""
    rows = await service.list_loans(
        session,
        principal=principal,
        within=within,
        status=status_,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    await trail.read(principal, "loan", [(s.id, s.path) for s in page], session=session)
    return LoanPage(items=[LoanOut.of(s) for s in page], next_cursor=next_cursor)


@router.get("/{loan_id}", response_model=LoanOut)
async def get_loan(
    loan_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> LoanOut:
    """One loan with its schedule (the read is audited)."""
    loan = await service.get_loan(session, principal=principal, loan_id=loan_id)
    await trail.read(principal, "loan", [(loan.id, loan.path)], session=session)
    return LoanOut.of(loan)


@router.post("/{loan_id}/guarantee", response_model=LoanOut)
async def guarantee_loan(loan_id: str, body: GuaranteeIn, command: WriteCommand) -> JSONResponse:
    """Record the guarantee (``loan.guaranteed``)."""
    return await command.run(
        service.guarantee_loan, LoanOut.of, loan_id=loan_id, guarantee=body.guarantee
    )


@router.post("/{loan_id}/approve", response_model=LoanOut)
async def approve_loan(loan_id: str, body: ApprovalIn, command: WriteCommand) -> JSONResponse:
    """Approve a guaranteed loan (``loan.approved``)."""
    return await command.run(
        service.approve_loan, LoanOut.of, loan_id=loan_id, approved_on=body.approved_on
    )


@router.post("/{loan_id}/disburse", response_model=LoanOut)
async def disburse_loan(loan_id: str, body: DisbursementIn, command: WriteCommand) -> JSONResponse:
    """Pay out an approved loan; its schedule is fixed (``loan.disbursed``)."""
    return await command.run(
        service.disburse_loan, LoanOut.of, loan_id=loan_id, disbursed_on=body.disbursed_on
    )


@router.post("/{loan_id}/repayments", response_model=LoanOut)
async def repay_loan(loan_id: str, body: RepaymentIn, command: WriteCommand) -> JSONResponse:
    """Receive a repayment, oldest instalments first (``loan.repaid``)."""
    return await command.run(
        service.repay_loan,
        LoanOut.of,
        loan_id=loan_id,
        amount_fen=body.amount_fen,
        paid_on=body.paid_on,
    )
