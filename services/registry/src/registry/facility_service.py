"""Use cases for community facilities: open, update and close a facility (commands), get and
list facilities and the two floor-area statistics (queries).

A command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and keyword-only
arguments; the :class:`~registry.domain.facilities.Facility` records its domain events and the
unit writes their integration events with the change. Queries take a session. Every use case
confines the caller's :class:`~shared.auth.Principal` to its area: a facility, or a community,
outside the token's area is reported as not found (404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import area_service
from registry.adapters import areas as area_store
from registry.adapters import facilities as store
from registry.adapters.areas import AreaRow
from registry.adapters.facilities import FacilityRoomRow, FacilityRow
from registry.adapters.paths import in_subtree
from registry.domain import facilities
from shared.auth import Principal, ensure_area
from shared.contracts.registry import GRASSROOTS_LEVELS, FacilityKind, RoomPurpose
from shared.errors import NotFound
from shared.unit_of_work import UnitOfWork

FacilityStatus = Literal["open", "closed"]


def current_date() -> date:
    """Today's date on the service's clock (use cases take ``today`` to be testable)."""
    return date.today()


# -- commands ------------------------------------------------------------------------------


async def open_facility(
    uow: UnitOfWork,
    *,
    principal: Principal,
    community_id: str,
    kind: FacilityKind,
    rooms: Sequence[tuple[RoomPurpose, float]],
    opened_on: date,
    today: date | None = None,
    facility_id: str | None = None,
) -> facilities.FacilitySnapshot:
    """Register an open facility of a current community (``FacilityOpened``).

    ``facility_id`` lets an import choose a stable id (default: a new one).
    """
    day = today or current_date()
    found = await area_service.community_for_new_record(
        uow.session, principal=principal, community_id=community_id, today=day
    )
    facility = facilities.Facility.open(
        facility_id=facility_id or str(uuid.uuid4()),
        community=found,
        kind=kind,
        rooms=rooms,
        opened_on=opened_on,
        today=day,
    )
    uow.track(facility)
    await store.save_facility(uow.session, facility, new=True)
    return facility.state


async def update_facility(
    uow: UnitOfWork,
    *,
    principal: Principal,
    facility_id: str,
    kind: FacilityKind | None = None,
    rooms: Sequence[tuple[RoomPurpose, float]] | None = None,
) -> facilities.FacilitySnapshot:
    """Change a facility's kind and/or replace its rooms (``FacilityUpdated`` when something
    changed; 409 for a closed facility)."""
    facility = await _facility(
        uow.session, principal=principal, facility_id=facility_id, for_update=True
    )
    uow.track(facility)
    if facility.update(kind=kind, rooms=rooms):
        await store.save_facility(uow.session, facility)
    return facility.state


async def close_facility(
    uow: UnitOfWork,
    *,
    principal: Principal,
    facility_id: str,
    closed_on: date,
    today: date | None = None,
) -> facilities.FacilitySnapshot:
    """Close a facility (``FacilityClosed``; 409 when already closed)."""
    facility = await _facility(
        uow.session, principal=principal, facility_id=facility_id, for_update=True
    )
    uow.track(facility)
    facility.close(closed_on=closed_on, today=today or current_date())
    await store.save_facility(uow.session, facility)
    return facility.state


async def _facility(
    session: AsyncSession, *, principal: Principal, facility_id: str, for_update: bool = False
) -> facilities.Facility:
    facility = await store.get_facility(session, facility_id, for_update=for_update)
    if facility is None:
        raise NotFound(f"no facility {facility_id}")
    ensure_area(principal, facility.state.path)
    return facility


# -- queries -------------------------------------------------------------------------------


async def get_facility(
    session: AsyncSession, *, principal: Principal, facility_id: str
) -> facilities.FacilitySnapshot:
    """One facility (404 when missing or outside the token's area)."""
    return (await _facility(session, principal=principal, facility_id=facility_id)).state


async def list_facilities(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    kind: FacilityKind | None = None,
    status: FacilityStatus | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[facilities.FacilitySnapshot]:
    """Facilities by id in the scope (see :func:`registry.area_service.scope_path`), of one
    kind and/or status, after the id ``after`` (keyset pagination)."""
    scope = await area_service.scope_path(session, principal=principal, within=within)
    query = select(FacilityRow).where(in_subtree(FacilityRow.path, scope))
    if kind is not None:
        query = query.where(FacilityRow.kind == kind)
    if status == "open":
        query = query.where(FacilityRow.closed_on.is_(None))
    elif status == "closed":
        query = query.where(FacilityRow.closed_on.is_not(None))
    if after is not None:
        query = query.where(FacilityRow.id > after)
    rows = list((await session.scalars(query.order_by(FacilityRow.id).limit(limit))).all())
    rooms: dict[str, list[tuple[str, float]]] = defaultdict(list)
    if rows:
        found = await session.execute(
            select(
                FacilityRoomRow.facility_id, FacilityRoomRow.purpose, FacilityRoomRow.area_m2
            ).where(FacilityRoomRow.facility_id.in_([row.id for row in rows]))
        )
        for facility_id, purpose, area in found:
            rooms[facility_id].append((purpose, area))
    return [store.facility_snapshot(row, rooms[row.id]) for row in rows]


async def communities_meeting_area(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    threshold_m2: float = facilities.DEFAULT_THRESHOLD_M2,
    as_of: date | None = None,
) -> facilities.AreaShare:
    """Which current communities in scope have at least ``threshold_m2`` of office and public
    service rooms in facilities open on ``as_of`` (default today), of how many."""
    day = as_of or current_date()
    scope = await area_service.scope_path(session, principal=principal, within=within)
    rooms = await _open_rooms_by_community(session, scope, day)
    area_by_community = {
        row.id: facilities.office_and_public_service_m2(rooms.get(row.id, []))
        for row in await _current_communities(session, scope, day)
    }
    return facilities.communities_meeting_area(area_by_community, threshold_m2=threshold_m2)


async def service_area(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    norm: facilities.ServiceAreaNorm = facilities.CITY_NORM,
    as_of: date | None = None,
) -> facilities.ServiceAreaReport:
    """Supporting service-room area of every current community in scope against ``norm``
    (default 25 m² per 150 households), with the households registered with the community."""
    day = as_of or current_date()
    scope = await area_service.scope_path(session, principal=principal, within=within)
    rooms = await _open_rooms_by_community(session, scope, day)
    return facilities.service_area_report(
        (
            (row.id, facilities.service_room_m2(rooms.get(row.id, [])), row.household_count)
            for row in await _current_communities(session, scope, day)
        ),
        norm=norm,
    )


async def _current_communities(
    session: AsyncSession, scope: str | None, day: date
) -> list[AreaRow]:
    """The communities in ``scope`` that exist on ``day`` (``valid_to`` is their last day)."""
    query = select(AreaRow).where(
        AreaRow.level.in_(GRASSROOTS_LEVELS),
        in_subtree(AreaRow.path, scope),
        area_store.valid_on(day),
    )
    return list((await session.scalars(query.order_by(AreaRow.id))).all())


async def _open_rooms_by_community(
    session: AsyncSession, scope: str | None, day: date
) -> dict[str, list[tuple[str, float]]]:
    """Floor area per room purpose of the facilities open on ``day``, by community."""
    query = (
        select(FacilityRow.community_id, FacilityRoomRow.purpose, func.sum(FacilityRoomRow.area_m2))
        .join(FacilityRoomRow, FacilityRoomRow.facility_id == FacilityRow.id)
        .where(
            in_subtree(FacilityRow.path, scope),
            FacilityRow.opened_on <= day,
            or_(FacilityRow.closed_on.is_(None), FacilityRow.closed_on > day),
        )
        .group_by(FacilityRow.community_id, FacilityRoomRow.purpose)
    )
    rooms: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for community_id, purpose, area in await session.execute(query):
        rooms[community_id].append((purpose, float(area or 0)))
    return rooms
