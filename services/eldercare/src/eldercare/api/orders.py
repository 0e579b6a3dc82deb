"""Routes of service orders and visits."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from eldercare import orders
from eldercare.api.deps import Reader, WriteCommand
from eldercare.domain.visits import OrderSnapshot, OrderStatus, VisitSnapshot, VisitStatus
from shared.audit import AuditTrail
from shared.contracts.eldercare import AssigneeKind, OrderCancelReason, ServiceKind
from shared.inputs import Text
from shared.runtime import SessionDep

router = APIRouter(tags=["orders"])


class OrderIn(BaseModel):
    """A service to order for an elder."""

    model_config = ConfigDict(extra="forbid")

    resident_id: Text = Field(min_length=1, max_length=64)
    service: ServiceKind


class AssignIn(BaseModel):
    """Who serves the order."""

    model_config = ConfigDict(extra="forbid")

    assignee_kind: AssigneeKind
    assignee_id: Text = Field(
        min_length=1, max_length=64, description="Carer's staff id or registry volunteer id."
    )


class CancelIn(BaseModel):
    """Cancelling an order."""

    model_config = ConfigDict(extra="forbid")

    reason: OrderCancelReason = "cancelled"


class VisitIn(BaseModel):
    """A visit window."""

    model_config = ConfigDict(extra="forbid")

    window_start: AwareDatetime
    window_end: AwareDatetime = Field(description="Check in before it, or the visit is missed.")


class OrderOut(BaseModel):
    """A service order."""

    id: str
    resident_id: str
    service: ServiceKind
    status: OrderStatus
    created_on: date
    assignee_kind: AssigneeKind | None
    assignee_id: str | None
    cancelled_on: date | None

    @classmethod
    def of(cls, order: OrderSnapshot) -> OrderOut:
        """The API view of an order."""
        return cls(
            id=order.id,
            resident_id=order.resident_id,
            service=order.service,
            status=order.status,
            created_on=order.created_on,
            assignee_kind=order.assignee_kind,
            assignee_id=order.assignee_id,
            cancelled_on=order.cancelled_on,
        )


class VisitOut(BaseModel):
    """A visit."""

    id: str
    order_id: str
    window_start: datetime
    window_end: datetime
    status: VisitStatus
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    missed_at: datetime | None = Field(description="When the missed-visit alert was raised.")

    @classmethod
    def of(cls, visit: VisitSnapshot) -> VisitOut:
        """The API view of a visit."""
        return cls(
            id=visit.id,
            order_id=visit.order.id,
            window_start=visit.window_start,
            window_end=visit.window_end,
            status=visit.status,
            checked_in_at=visit.checked_in_at,
            checked_out_at=visit.checked_out_at,
            missed_at=visit.missed_at,
        )


@router.post("/orders", status_code=201, response_model=OrderOut)
async def create_order(body: OrderIn, command: WriteCommand) -> JSONResponse:
    """Order a service for an enrolled elder."""
    return await command.run(
        orders.create_order,
        OrderOut.of,
        status=201,
        resident_id=body.resident_id,
        service=body.service,
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: str, principal: Reader, session: SessionDep, trail: AuditTrail
) -> OrderOut:
    """One order (the read is audited)."""
    order = await orders.get_order(session, principal=principal, order_id=order_id)
    await trail.read(principal, "order", [(order.id, order.path)], session=session)
    return OrderOut.of(order)


@router.post("/orders/{order_id}/assign", response_model=OrderOut)
async def assign_order(order_id: str, body: AssignIn, command: WriteCommand) -> JSONResponse:
    """Assign an order to a carer or a registry volunteer."""
    return await command.run(
        orders.assign_order,
        OrderOut.of,
        order_id=order_id,
        assignee_kind=body.assignee_kind,
        assignee_id=body.assignee_id,
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(order_id: str, body: CancelIn, command: WriteCommand) -> JSONResponse:
    """Cancel an order and its scheduled visits."""
    return await command.run(
        orders.cancel_order, OrderOut.of, order_id=order_id, reason=body.reason
    )


@router.post("/orders/{order_id}/visits", status_code=201, response_model=VisitOut)
async def schedule_visit(order_id: str, body: VisitIn, command: WriteCommand) -> JSONResponse:
    """Schedule a visit of an assigned order."""
    return await command.run(
        orders.schedule_visit,
        VisitOut.of,
        status=201,
        order_id=order_id,
        window_start=body.window_start,
        window_end=body.window_end,
    )


@router.get("/orders/{order_id}/visits", response_model=list[VisitOut])
async def list_visits(
    order_id: str, principal: Reader, session: SessionDep, trail: AuditTrail
) -> list[VisitOut]:
    """An order's visits by window (each read is audited)."""
    found = await orders.list_visits(session, principal=principal, order_id=order_id)
    await trail.read(principal, "visit", [(v.id, v.order.path) for v in found], session=session)
    return [VisitOut.of(v) for v in found]


@router.post("/visits/{visit_id}/check-in", response_model=VisitOut)
async def check_in(visit_id: str, command: WriteCommand) -> JSONResponse:
    """Check in at a visit."""
    return await command.run(orders.check_in, VisitOut.of, visit_id=visit_id)


@router.post("/visits/{visit_id}/check-out", response_model=VisitOut)
async def check_out(visit_id: str, command: WriteCommand) -> JSONResponse:
    """Check out of a visit (completed)."""
    return await command.run(orders.check_out, VisitOut.of, visit_id=visit_id)
