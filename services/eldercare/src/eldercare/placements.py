"""Use cases of care placements: centres with their places, placement requests, waiting lists
in priority order, ends and transitions (:mod:`eldercare.domain.placements`).

A centre's row is locked while its places or list change, so concurrent requests for one
centre queue instead of over-filling it. Every change of a centre's list renumbers it, which
records the position changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare import areas, clock
from eldercare.adapters import store
from eldercare.adapters.tables import CentreRow, PlacementRow
from eldercare.domain.placements import Centre, CentreKind, Placement, PlacementSnapshot, settle
from eldercare.elders import enrolled_elder
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.eldercare import PlacementEndReason, PlacementKind
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def open_centre(
    uow: UnitOfWork,
    *,
    principal: Principal,
    kind: CentreKind,
    name: str,
    community_id: str,
    capacity: int,
) -> Centre:
    """Register a day-care centre or institution with its places, in a community the registry
    announced inside the token's area (its path comes from there; 422 on ``community_id``
    otherwise)."""
    path = list(
        await areas.community_path(uow.session, principal, community_id, field="community_id")
    )
    Centre.check_capacity(capacity)
    centre = Centre(str(uuid.uuid4()), kind, name, community_id, tuple(path), capacity)
    uow.session.add(
        CentreRow(
            id=centre.id,
            kind=kind,
            name=name,
            community_id=community_id,
            path=store.path_text(path),
            capacity=capacity,
        )
    )
    return centre


async def _centre(session: AsyncSession, principal: Principal, centre_id: str) -> Centre:
    centre = await store.get_centre(session, centre_id)
    if centre is None:
        raise NotFound(f"no centre {centre_id}")
    ensure_area(principal, centre.path)
    return centre


async def _occupied(session: AsyncSession, centre_id: str) -> int:
    query = select(func.count()).where(
        PlacementRow.centre_id == centre_id, PlacementRow.status == "active"
    )
    return int(await session.scalar(query) or 0)


async def _active_of(session: AsyncSession, resident_ids: list[str]) -> dict[str, Placement]:
    if not resident_ids:
        return {}
    found = await store.placements(
        session, PlacementRow.resident_id.in_(resident_ids), PlacementRow.status == "active"
    )
    return {placement.state.resident_id: placement for placement in found}


async def _settle(uow: UnitOfWork, centre: Centre, *, today: date) -> list[Placement]:
    """Start waiting requests while the centre has free places and renumber the rest; the
    started elders' previous placements end (``transferred``)."""
    waiting = await store.placements(
        uow.session, PlacementRow.centre_id == centre.id, PlacementRow.status == "waiting"
    )
    uow.track(*waiting)
    free = centre.capacity - await _occupied(uow.session, centre.id)
    previous = await _active_of(uow.session, [p.state.resident_id for p in waiting])
    started = settle(
        waiting,
        free_places=free,
        today=today,
        previous={resident: p.state.id for resident, p in previous.items()},
    )
    for placement in waiting:
        await store.save_placement(uow.session, placement)
    for placement in started:
        await _end_previous(uow, previous.get(placement.state.resident_id), today=today)
    return started


async def _end_previous(uow: UnitOfWork, placement: Placement | None, *, today: date) -> None:
    if placement is None:
        return
    uow.track(placement)
    placement.end(today=today, reason="transferred")
    await store.save_placement(uow.session, placement)
    await uow.flush()
    if placement.state.centre_id is not None:
        freed = await store.get_centre(uow.session, placement.state.centre_id)
        if freed is not None:
            await _settle(uow, freed, today=today)


async def request_placement(
    uow: UnitOfWork,
    *,
    principal: Principal,
    resident_id: str,
    kind: PlacementKind,
    centre_id: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> PlacementSnapshot:
    """Request a placement for an enrolled elder: home care starts at once, a centre's place
    when one is free and nobody waits; otherwise the request joins the centre's list."""
    day = today or clock.today()
    elder = await enrolled_elder(uow.session, principal=principal, resident_id=resident_id)
    centre = await _centre(uow.session, principal, centre_id) if centre_id else None
    pending = await store.placements(
        uow.session, PlacementRow.resident_id == resident_id, PlacementRow.status == "waiting"
    )
    if any(p.state.centre_id == centre_id for p in pending):
        raise InvalidInput(
            "already waiting there", errors=[FieldError("centre_id", "already on its list")]
        )
    placement = Placement.request(
        resident_id=resident_id,
        community_id=elder.community_id,
        path=elder.path,
        kind=kind,
        centre=centre,
        care_level=elder.care_level or 0,
        vulnerable=elder.living_alone or elder.empty_nest,
        birth_year=elder.birth_year,
        today=day,
        now=now or clock.now(),
    )
    uow.track(placement)
    await store.save_placement(uow.session, placement)
    await uow.flush()
    if centre is None:
        previous = (await _active_of(uow.session, [resident_id])).get(resident_id)
        placement.announce()
        placement.start(today=day, previous_id=previous.state.id if previous else None)
        await store.save_placement(uow.session, placement)
        await uow.flush()
        await _end_previous(uow, previous, today=day)
        _audit(uow, principal, "request", placement)
        return placement.state
    # Settle the centre's list with the request on it, then announce the request where it
    # landed (its event comes first: this placement was tracked before the list's).
    await _settle(uow, centre, today=day)
    row = await uow.session.get(PlacementRow, placement.state.id)
    assert row is not None
    placement.state = store.placement_snapshot(row)
    placement.announce()
    _audit(uow, principal, "request", placement)
    return placement.state


def _audit(uow: UnitOfWork, principal: Principal, action: str, placement: Placement) -> None:
    """The audit row of a placement an elder's carer asked for or ended (:mod:`shared.audit`)."""
    state = placement.state
    audit.record_change(uow, principal, action, "placement", state.id, state.path)


async def end_placement(
    uow: UnitOfWork,
    *,
    principal: Principal,
    placement_id: str,
    reason: PlacementEndReason = "ended",
    today: date | None = None,
) -> PlacementSnapshot:
    """End an active placement or withdraw a waiting request; a freed place goes to the head
    of the centre's list."""
    day = today or clock.today()
    found = await store.placements(uow.session, PlacementRow.id == placement_id)
    if not found:
        raise NotFound(f"no placement {placement_id}")
    placement = found[0]
    ensure_area(principal, placement.state.path)
    uow.track(placement)
    placement.end(today=day, reason=reason)
    await store.save_placement(uow.session, placement)
    await uow.flush()
    if placement.state.centre_id is not None:
        centre = await store.get_centre(uow.session, placement.state.centre_id)
        if centre is not None:
            await _settle(uow, centre, today=day)
    _audit(uow, principal, "end", placement)
    return placement.state


async def close_for(
    uow: UnitOfWork, *, resident_id: str, reason: PlacementEndReason, today: date
) -> int:
    """End every open placement and waiting request of an elder (death, departure)."""
    open_ones = await store.placements(
        uow.session,
        PlacementRow.resident_id == resident_id,
        PlacementRow.status.in_(("waiting", "active")),
    )
    centres: set[str] = set()
    for placement in open_ones:
        uow.track(placement)
        placement.end(today=today, reason=reason)
        await store.save_placement(uow.session, placement)
        if placement.state.centre_id is not None:
            centres.add(placement.state.centre_id)
    await uow.flush()
    for centre_id in sorted(centres):
        centre = await store.get_centre(uow.session, centre_id)
        if centre is not None:
            await _settle(uow, centre, today=today)
    return len(open_ones)


@dataclass(frozen=True)
class WaitingList:
    """A centre with its occupancy and its waiting requests in order."""

    centre: Centre
    occupied: int
    waiting: list[PlacementSnapshot]


async def waiting_list(
    session: AsyncSession, *, principal: Principal, centre_id: str
) -> WaitingList:
    """A centre's places and waiting list, in position order."""
    centre = await _centre(session, principal, centre_id)
    rows = await session.scalars(
        select(PlacementRow)
        .where(PlacementRow.centre_id == centre_id, PlacementRow.status == "waiting")
        .order_by(PlacementRow.position, PlacementRow.id)
    )
    return WaitingList(
        centre, await _occupied(session, centre_id), [store.placement_snapshot(r) for r in rows]
    )
