"""Routes of age entitlements and the subsidy ledger."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from eldercare import entitlements
from eldercare.adapters.tables import PaymentRow
from eldercare.api.deps import PolicyDep, Reader, Within, WriteCommand, after_id
from eldercare.domain.entitlements import EntitlementSnapshot, EntitlementStatus
from shared.audit import AuditTrail
from shared.contracts.eldercare import EntitlementKind
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(tags=["entitlements"])


class EntitlementOut(BaseModel):
    """An age entitlement of an elder."""

    id: str
    resident_id: str
    community_id: str
    kind: EntitlementKind
    age: int
    due_on: date
    proposed_on: date
    status: EntitlementStatus
    decided_on: date | None
    reason: str | None
    monthly_amount_fen: int | None = Field(description="Monthly subsidy in fen, once granted.")

    @classmethod
    def of(cls, state: EntitlementSnapshot) -> EntitlementOut:
        """The API view of an entitlement."""
        return cls(
            id=state.id,
            resident_id=state.resident_id,
            community_id=state.community_id,
            kind=state.kind,
            age=state.age,
            due_on=state.due_on,
            proposed_on=state.proposed_on,
            status=state.status,
            decided_on=state.decided_on,
            reason=state.reason,
            monthly_amount_fen=state.monthly_amount_fen,
        )


class EntitlementPage(Page[EntitlementOut]):
    """One page of entitlements."""


class DeclineIn(BaseModel):
    """Declining a proposed entitlement."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(
        min_length=1, max_length=64, description="Reason code, e.g. not_qualified."
    )


@router.get("/entitlements", response_model=EntitlementPage)
async def list_entitlements(
    principal: Reader,
    session: SessionDep,
    trail: AuditTrail,
    within: Within = None,
    status: EntitlementStatus | None = None,
    kind: EntitlementKind | None = None,
    resident_id: Text | None = Query(default=None, max_length=64),
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> EntitlementPage:
    """Entitlements in the token's area, by id (each read is audited)."""
    found = await entitlements.list_entitlements(
        session,
        principal=principal,
        within=within,
        status=status,
        kind=kind,
        resident_id=resident_id,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(found, limit, lambda e: [e.id])
    await trail.read(principal, "entitlement", [(e.id, e.path) for e in page], session=session)
    return EntitlementPage(items=[EntitlementOut.of(e) for e in page], next_cursor=next_cursor)


@router.post("/entitlements/{entitlement_id}/grant", response_model=EntitlementOut)
async def grant_entitlement(
    entitlement_id: str, command: WriteCommand, policy: PolicyDep
) -> JSONResponse:
    """Grant a proposed entitlement (409 when already decided)."""
    return await command.run(
        entitlements.grant,
        EntitlementOut.of,
        entitlement_id=entitlement_id,
        rules=policy.rules,
        monthly_amount_fen=policy.monthly_amount_fen,
    )


@router.post("/entitlements/{entitlement_id}/decline", response_model=EntitlementOut)
async def decline_entitlement(
    entitlement_id: str, body: DeclineIn, command: WriteCommand
) -> JSONResponse:
    """Decline a proposed entitlement (409 when already decided)."""
    return await command.run(
        entitlements.decline, EntitlementOut.of, entitlement_id=entitlement_id, reason=body.reason
    )


class PaymentOut(BaseModel):
    """A line of the subsidy ledger."""

    id: str
    entitlement_id: str | None = Field(description="The granted entitlement (a living subsidy).")
    case_id: str | None = Field(
        description="The casework case whose approval was paid (a hardship medical subsidy)."
    )
    resident_id: str
    kind: str = Field(description="`longevity_subsidy` or `hardship_medical_subsidy`.")
    month: date = Field(description="First day of the month paid for.")
    amount_fen: int = Field(description="Amount in fen (1/100 yuan).")
    paid_on: date

    @classmethod
    def of(cls, row: PaymentRow) -> PaymentOut:
        """The API view of a ledger line."""
        return cls(
            id=row.id,
            entitlement_id=row.entitlement_id,
            case_id=row.case_id,
            resident_id=row.resident_id,
            kind=row.kind,
            month=row.month,
            amount_fen=row.amount_fen,
            paid_on=row.paid_on,
        )


class PaymentPage(Page[PaymentOut]):
    """One page of ledger lines."""

    total_fen: int = Field(description="Sum of the page's amounts in fen.")


@router.get("/payments", response_model=PaymentPage)
async def list_payments(
    principal: Reader,
    session: SessionDep,
    trail: AuditTrail,
    within: Within = None,
    resident_id: Text | None = Query(default=None, max_length=64),
    month: Day | None = Query(default=None, description="Any day of the month."),
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> PaymentPage:
    """The subsidy ledger in the token's area, by id (each line's read is audited)."""
    found = await entitlements.list_payments(
        session,
        principal=principal,
        within=within,
        resident_id=resident_id,
        month=month,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(found, limit, lambda p: [p.id])
    await trail.read(principal, "payment", [(p.id, p.path) for p in page], session=session)
    return PaymentPage(
        items=[PaymentOut.of(p) for p in page],
        next_cursor=next_cursor,
        total_fen=sum(p.amount_fen for p in page),
    )
