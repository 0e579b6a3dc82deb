"""Repositories: load the service's entities from their rows and save them back.

Paths are stored as ``/city/district/street/community/`` text (:func:`path_text`), read back
as tuples of ids (:func:`path_ids`); :func:`in_area` confines a query to an area's subtree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare.adapters.tables import (
    AssessmentRow,
    Base,
    CentreRow,
    ElderRow,
    EntitlementRow,
    OrderRow,
    PlacementRow,
    VisitRow,
)
from eldercare.domain.assessment import AssessmentSnapshot
from eldercare.domain.entitlements import Entitlement, EntitlementSnapshot
from eldercare.domain.placements import Centre, Placement, PlacementSnapshot
from eldercare.domain.roster import Elder, ElderSnapshot
from eldercare.domain.visits import Order, OrderSnapshot, Visit, VisitSnapshot
from shared.db import as_utc
from shared.paths import passes_through
from shared.paths import path_ids as path_ids
from shared.paths import path_text as path_text

in_area = passes_through
"""Rows whose stored path passes through every one of the given areas (None: no limit)."""


def _fields(snapshot: Any) -> dict[str, Any]:
    values = asdict(snapshot)
    values["path"] = path_text(values["path"])
    return values


def _copy(row: Base, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _snapshot_values(row: Base, names: Iterable[str]) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in names}
    if "path" in values:
        values["path"] = path_ids(values["path"])
    return values


# -- elders --------------------------------------------------------------------------------

_ELDER_FIELDS = tuple(ElderSnapshot.__dataclass_fields__)


def elder_snapshot(row: ElderRow) -> ElderSnapshot:
    """The roster state in a row."""
    return ElderSnapshot(**_snapshot_values(row, _ELDER_FIELDS))


async def get_elder(
    session: AsyncSession, resident_id: str, *, for_update: bool = False
) -> Elder | None:
    """The roster entry of a resident, if the registry announced them."""
    query = select(ElderRow).where(ElderRow.resident_id == resident_id)
    row = (await session.scalars(query.with_for_update() if for_update else query)).first()
    return Elder(elder_snapshot(row)) if row else None


async def save_elder(session: AsyncSession, elder: Elder) -> None:
    """Insert or update a roster entry."""
    row = await session.get(ElderRow, elder.state.resident_id)
    if row is None:
        row = ElderRow()
        session.add(row)
    _copy(row, _fields(elder.state))


# -- entitlements --------------------------------------------------------------------------

_ENTITLEMENT_FIELDS = tuple(EntitlementSnapshot.__dataclass_fields__)


def entitlement_snapshot(row: EntitlementRow) -> EntitlementSnapshot:
    """The entitlement in a row."""
    return EntitlementSnapshot(**_snapshot_values(row, _ENTITLEMENT_FIELDS))


async def get_entitlement(session: AsyncSession, entitlement_id: str) -> Entitlement | None:
    """An entitlement, locked for a decision."""
    query = select(EntitlementRow).where(EntitlementRow.id == entitlement_id).with_for_update()
    row = (await session.scalars(query)).first()
    return Entitlement(entitlement_snapshot(row)) if row else None


async def save_entitlement(session: AsyncSession, entitlement: Entitlement) -> None:
    """Insert or update an entitlement."""
    row = await session.get(EntitlementRow, entitlement.state.id)
    if row is None:
        row = EntitlementRow()
        session.add(row)
    _copy(row, _fields(entitlement.state))


# -- assessments ---------------------------------------------------------------------------


def assessment_row(snapshot: AssessmentSnapshot) -> AssessmentRow:
    """A new row for an assessment."""
    values = _fields(snapshot)
    values["iadl_dependent"] = list(snapshot.iadl_dependent)
    return AssessmentRow(**values)


def assessment_snapshot(row: AssessmentRow) -> AssessmentSnapshot:
    """The assessment in a row."""
    values = _snapshot_values(row, AssessmentSnapshot.__dataclass_fields__)
    values["iadl_dependent"] = tuple(values["iadl_dependent"])
    return AssessmentSnapshot(**values)


# -- centres and placements ----------------------------------------------------------------


def centre_of(row: CentreRow) -> Centre:
    """The centre in a row."""
    return Centre(**_snapshot_values(row, Centre.__dataclass_fields__))


async def get_centre(session: AsyncSession, centre_id: str) -> Centre | None:
    """A centre, locked so that its places and waiting list change one request at a time."""
    query = select(CentreRow).where(CentreRow.id == centre_id).with_for_update()
    row = (await session.scalars(query)).first()
    return centre_of(row) if row else None


def placement_snapshot(row: PlacementRow) -> PlacementSnapshot:
    """The placement in a row."""
    values = _snapshot_values(row, PlacementSnapshot.__dataclass_fields__)
    values["requested_at"] = as_utc(values["requested_at"])
    return PlacementSnapshot(**values)


async def placements(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[Placement]:
    """The placements matching ``conditions``, locked."""
    query = select(PlacementRow).where(*conditions).order_by(PlacementRow.id).with_for_update()
    return [Placement(placement_snapshot(row)) for row in await session.scalars(query)]


async def save_placement(session: AsyncSession, placement: Placement) -> None:
    """Insert or update a placement."""
    row = await session.get(PlacementRow, placement.state.id)
    if row is None:
        row = PlacementRow()
        session.add(row)
    _copy(row, _fields(placement.state))


# -- orders and visits ---------------------------------------------------------------------

_ORDER_FIELDS = tuple(OrderSnapshot.__dataclass_fields__)


def order_snapshot(row: OrderRow) -> OrderSnapshot:
    """The order in a row."""
    return OrderSnapshot(**_snapshot_values(row, _ORDER_FIELDS))


async def orders(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[Order]:
    """The orders matching ``conditions``, locked."""
    query = select(OrderRow).where(*conditions).order_by(OrderRow.id).with_for_update()
    return [Order(order_snapshot(row)) for row in await session.scalars(query)]


async def save_order(session: AsyncSession, order: Order) -> None:
    """Insert or update an order."""
    row = await session.get(OrderRow, order.state.id)
    if row is None:
        row = OrderRow()
        session.add(row)
    _copy(row, _fields(order.state))


async def visits(
    session: AsyncSession, *conditions: ColumnElement[bool], limit: int | None = None
) -> list[Visit]:
    """The visits matching ``conditions`` with their orders (the first ``limit`` by window
    end), locked."""
    query = (
        select(VisitRow, OrderRow)
        .join(OrderRow, OrderRow.id == VisitRow.order_id)
        .where(*conditions)
        .order_by(VisitRow.window_end, VisitRow.id)
        .limit(limit)
        .with_for_update(of=VisitRow)
    )
    found: list[Visit] = []
    for visit_row, order_row in await session.execute(query):
        found.append(Visit(visit_snapshot(visit_row, order_snapshot(order_row))))
    return found


def visit_snapshot(row: VisitRow, order: OrderSnapshot) -> VisitSnapshot:
    """The visit in a row."""

    def utc(value: Any) -> Any:
        return None if value is None else as_utc(value)

    return VisitSnapshot(
        id=row.id,
        order=order,
        window_start=as_utc(row.window_start),
        window_end=as_utc(row.window_end),
        status=cast(Any, row.status),
        checked_in_at=utc(row.checked_in_at),
        checked_out_at=utc(row.checked_out_at),
        missed_at=utc(row.missed_at),
    )


async def save_visit(session: AsyncSession, visit: Visit) -> None:
    """Insert or update a visit."""
    row = await session.get(VisitRow, visit.state.id)
    if row is None:
        row = VisitRow(
            id=visit.state.id,
            order_id=visit.state.order.id,
            resident_id=visit.state.order.resident_id,
            path=path_text(visit.state.order.path),
        )
        session.add(row)
    row.window_start = visit.state.window_start
    row.window_end = visit.state.window_end
    row.status = visit.state.status
    row.checked_in_at = visit.state.checked_in_at
    row.checked_out_at = visit.state.checked_out_at
    row.missed_at = visit.state.missed_at
