"""Use cases of service orders and visits: create, assign (to a carer or a registry
volunteer), cancel, schedule visits, check in and out, and the job that raises each
missed-visit alert once (:mod:`eldercare.domain.visits`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare import clock
from eldercare.adapters import store
from eldercare.adapters.tables import OrderRow, VisitRow, VolunteerRow
from eldercare.domain.visits import Order, OrderSnapshot, Visit, VisitSnapshot
from eldercare.elders import enrolled_elder
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.eldercare import AssigneeKind, OrderCancelReason, ServiceKind
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def create_order(
    uow: UnitOfWork,
    *,
    principal: Principal,
    resident_id: str,
    service: ServiceKind,
    today: date | None = None,
) -> OrderSnapshot:
    """Order a service for an enrolled elder."""
    elder = await enrolled_elder(uow.session, principal=principal, resident_id=resident_id)
    order = Order.create(
        resident_id=resident_id,
        community_id=elder.community_id,
        path=elder.path,
        service=service,
        today=today or clock.today(),
    )
    uow.track(order)
    await store.save_order(uow.session, order)
    audit.record_change(uow, principal, "create", "order", order.state.id, order.state.path)
    return order.state


async def _order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    found = await store.orders(session, OrderRow.id == order_id)
    if not found:
        raise NotFound(f"no order {order_id}")
    ensure_area(principal, found[0].state.path)
    return found[0]


async def get_order(session: AsyncSession, *, principal: Principal, order_id: str) -> OrderSnapshot:
    """One order (404 when missing or outside the token's area)."""
    return (await _order(session, principal, order_id)).state


async def assign_order(
    uow: UnitOfWork,
    *,
    principal: Principal,
    order_id: str,
    assignee_kind: AssigneeKind,
    assignee_id: str,
) -> OrderSnapshot:
    """Assign an order to a carer (a staff id) or a volunteer the registry announced in the
    elder's district."""
    order = await _order(uow.session, principal, order_id)
    if assignee_kind == "volunteer":
        volunteer = await uow.session.get(VolunteerRow, assignee_id)
        district = order.state.path[:2]
        if volunteer is None or store.path_ids(volunteer.path)[:2] != district:
            raise InvalidInput(
                "unknown volunteer",
                errors=[FieldError("assignee_id", "not a registry volunteer of the district")],
            )
    uow.track(order)
    order.assign(kind=assignee_kind, assignee_id=assignee_id)
    await store.save_order(uow.session, order)
    audit.record_change(uow, principal, "assign", "order", order.state.id, order.state.path)
    return order.state


async def cancel_order(
    uow: UnitOfWork,
    *,
    principal: Principal,
    order_id: str,
    reason: OrderCancelReason = "cancelled",
    today: date | None = None,
) -> OrderSnapshot:
    """Cancel an order and its scheduled visits."""
    order = await _order(uow.session, principal, order_id)
    await _cancel(uow, order, reason=reason, today=today or clock.today())
    audit.record_change(uow, principal, "cancel", "order", order.state.id, order.state.path)
    return order.state


async def _cancel(uow: UnitOfWork, order: Order, *, reason: OrderCancelReason, today: date) -> None:
    scheduled = await store.visits(
        uow.session, VisitRow.order_id == order.state.id, VisitRow.status == "scheduled"
    )
    cancelled = 0
    for visit in scheduled:
        if visit.cancel():
            cancelled += 1
            await store.save_visit(uow.session, visit)
    uow.track(order)
    order.cancel(today=today, reason=reason, visits_cancelled=cancelled)
    await store.save_order(uow.session, order)


async def cancel_for(
    uow: UnitOfWork, *, resident_id: str, reason: OrderCancelReason, today: date
) -> int:
    """Cancel every open order of an elder (death, departure) with their scheduled visits."""
    open_orders = await store.orders(
        uow.session, OrderRow.resident_id == resident_id, OrderRow.status == "open"
    )
    for order in open_orders:
        await _cancel(uow, order, reason=reason, today=today)
    return len(open_orders)


async def schedule_visit(
    uow: UnitOfWork,
    *,
    principal: Principal,
    order_id: str,
    window_start: datetime,
    window_end: datetime,
) -> VisitSnapshot:
    """Schedule a visit of an open, assigned order."""
    order = await _order(uow.session, principal, order_id)
    visit = Visit.schedule(order.state, start=window_start, end=window_end)
    await store.save_visit(uow.session, visit)
    audit.record_change(uow, principal, "schedule", "visit", visit.state.id, order.state.path)
    return visit.state


async def _visit(session: AsyncSession, principal: Principal, visit_id: str) -> Visit:
    found = await store.visits(session, VisitRow.id == visit_id)
    if not found:
        raise NotFound(f"no visit {visit_id}")
    ensure_area(principal, found[0].state.order.path)
    return found[0]


async def check_in(
    uow: UnitOfWork, *, principal: Principal, visit_id: str, now: datetime | None = None
) -> VisitSnapshot:
    """Check in at a visit."""
    visit = await _visit(uow.session, principal, visit_id)
    uow.track(visit)
    visit.check_in(now=now or clock.now())
    await store.save_visit(uow.session, visit)
    audit.record_change(uow, principal, "check-in", "visit", visit.state.id, visit.state.order.path)
    return visit.state


async def check_out(
    uow: UnitOfWork, *, principal: Principal, visit_id: str, now: datetime | None = None
) -> VisitSnapshot:
    """Check out of a visit (it is completed)."""
    visit = await _visit(uow.session, principal, visit_id)
    uow.track(visit)
    visit.check_out(now=now or clock.now())
    await store.save_visit(uow.session, visit)
    audit.record_change(
        uow, principal, "check-out", "visit", visit.state.id, visit.state.order.path
    )
    return visit.state


async def flag_missed(uow: UnitOfWork, *, now: datetime, limit: int = 500) -> int:
    """Raise the alert of the scheduled visits (at most ``limit``) whose window ended without
    a check-in (each once: a missed visit is no longer scheduled); how many."""
    overdue = await store.visits(
        uow.session, VisitRow.status == "scheduled", VisitRow.window_end <= now, limit=limit
    )
    missed = 0
    for visit in overdue:
        uow.track(visit)
        if visit.miss(now=now):
            missed += 1
            await store.save_visit(uow.session, visit)
    return missed


async def list_visits(
    session: AsyncSession, *, principal: Principal, order_id: str
) -> list[VisitSnapshot]:
    """The visits of an order, by window."""
    order = await _order(session, principal, order_id)
    rows = await session.scalars(
        select(VisitRow).where(VisitRow.order_id == order_id).order_by(VisitRow.window_start)
    )
    return [store.visit_snapshot(row, order.state) for row in rows]
