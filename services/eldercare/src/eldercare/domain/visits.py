"""Service orders and visits.

An order is one service (meal delivery, cleaning, bathing, health check, companionship, day
care) for an enrolled elder, assigned to a carer (a staff id) or a registry volunteer. Visits
are scheduled in a time window; the carer checks in (before the window ends, or late) and out.
A visit still not checked in when its window has ended is missed: :meth:`Visit.miss` records
the alert once, since a missed visit is never missed again. Cancelling an order (by staff, or
because the elder died or left) cancels its scheduled visits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from shared.contracts.eldercare import AssigneeKind, OrderCancelReason, ServiceKind
from shared.errors import Conflict, FieldError, InvalidInput

OrderStatus = Literal["open", "cancelled"]
VisitStatus = Literal["scheduled", "checked_in", "completed", "missed", "cancelled"]


@dataclass(frozen=True)
class OrderSnapshot:
    """A service order."""

    id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    service: ServiceKind
    status: OrderStatus
    created_on: date
    assignee_kind: AssigneeKind | None = None
    assignee_id: str | None = None
    cancelled_on: date | None = None
    cancel_reason: OrderCancelReason | None = None


@dataclass(frozen=True)
class OrderCreated:
    """An order was created."""

    order: OrderSnapshot


@dataclass(frozen=True)
class OrderAssigned:
    """An order was assigned or reassigned."""

    order: OrderSnapshot


@dataclass(frozen=True)
class OrderCancelled:
    """An order was cancelled with ``visits_cancelled`` of its visits."""

    order: OrderSnapshot
    visits_cancelled: int


@dataclass
class Order:
    """A service order; records its domain events."""

    state: OrderSnapshot
    events: list[Any] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        resident_id: str,
        community_id: str,
        path: tuple[str, ...],
        service: ServiceKind,
        today: date,
    ) -> Order:
        """A new open order."""
        order = cls(
            OrderSnapshot(
                id=str(uuid.uuid4()),
                resident_id=resident_id,
                community_id=community_id,
                path=path,
                service=service,
                status="open",
                created_on=today,
            )
        )
        order.events.append(OrderCreated(order.state))
        return order

    def _open(self) -> None:
        if self.state.status != "open":
            raise Conflict("order is cancelled", errors=[FieldError("order_id", "cancelled")])

    def assign(self, *, kind: AssigneeKind, assignee_id: str) -> None:
        """Assign the order to a carer or a volunteer (409 when cancelled)."""
        self._open()
        if (self.state.assignee_kind, self.state.assignee_id) == (kind, assignee_id):
            return
        self.state = replace(self.state, assignee_kind=kind, assignee_id=assignee_id)
        self.events.append(OrderAssigned(self.state))

    def cancel(self, *, today: date, reason: OrderCancelReason, visits_cancelled: int) -> None:
        """Cancel the order (409 when cancelled already)."""
        self._open()
        self.state = replace(
            self.state, status="cancelled", cancelled_on=today, cancel_reason=reason
        )
        self.events.append(OrderCancelled(self.state, visits_cancelled))


@dataclass(frozen=True)
class VisitSnapshot:
    """A scheduled visit of an order."""

    id: str
    order: OrderSnapshot
    window_start: datetime
    window_end: datetime
    status: VisitStatus
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    missed_at: datetime | None = None


@dataclass(frozen=True)
class VisitCheckedIn:
    """The carer checked in."""

    visit: VisitSnapshot


@dataclass(frozen=True)
class VisitCompleted:
    """The carer checked out."""

    visit: VisitSnapshot


@dataclass(frozen=True)
class VisitMissed:
    """The window ended without a check-in (the alert)."""

    visit: VisitSnapshot


@dataclass
class Visit:
    """A visit; records its domain events."""

    state: VisitSnapshot
    events: list[Any] = field(default_factory=list)

    @classmethod
    def schedule(cls, order: OrderSnapshot, *, start: datetime, end: datetime) -> Visit:
        """A visit of an open, assigned order in the window ``start``–``end``."""
        if order.status != "open":
            raise Conflict("order is cancelled", errors=[FieldError("order_id", "cancelled")])
        if order.assignee_id is None:
            raise Conflict("order not assigned", errors=[FieldError("order_id", "assign it first")])
        if end <= start:
            raise InvalidInput(
                "empty window", errors=[FieldError("window_end", "must be after window_start")]
            )
        return cls(VisitSnapshot(str(uuid.uuid4()), order, start, end, "scheduled"))

    def check_in(self, *, now: datetime) -> None:
        """Check in (also late, after a missed alert; 409 otherwise)."""
        if self.state.status not in ("scheduled", "missed"):
            raise Conflict(f"visit is {self.state.status}")
        self.state = replace(self.state, status="checked_in", checked_in_at=now)
        self.events.append(VisitCheckedIn(self.state))

    def check_out(self, *, now: datetime) -> None:
        """Check out after checking in (409 otherwise)."""
        if self.state.status != "checked_in" or self.state.checked_in_at is None:
            raise Conflict(f"visit is {self.state.status}")
        if now < self.state.checked_in_at:
            raise InvalidInput("check-out before check-in")
        self.state = replace(self.state, status="completed", checked_out_at=now)
        self.events.append(VisitCompleted(self.state))

    def miss(self, *, now: datetime) -> bool:
        """Raise the missed-visit alert when the window has ended without a check-in; True
        the one time it does."""
        if self.state.status != "scheduled" or now < self.state.window_end:
            return False
        self.state = replace(self.state, status="missed", missed_at=now)
        self.events.append(VisitMissed(self.state))
        return True

    def cancel(self) -> bool:
        """Cancel a scheduled visit; True when it was cancelled."""
        if self.state.status != "scheduled":
            return False
        self.state = replace(self.state, status="cancelled")
        return True
