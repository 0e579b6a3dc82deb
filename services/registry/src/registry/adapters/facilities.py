"""Facility tables, their repository functions, and the mapping of facility domain events
(:mod:`registry.domain.facilities`) to the integration events of ``shared.contracts.registry``.

A facility keeps its community's id and stored path (:mod:`registry.adapters.paths`), so an
area subtree is a prefix match without a join; a community's path never changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import cast

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.base import Base
from registry.adapters.paths import path_ids, path_text
from registry.domain import facilities
from shared.contracts import registry as contracts
from shared.unit_of_work import IntegrationEvent, Translations

AREA_M2 = Numeric(9, 2, asdecimal=False)
"""Floor areas to the hundredth of a m² (below 100,000 per room purpose), exact in sums."""


def now() -> datetime:
    """The current instant (UTC), for ``created_at``/``updated_at`` columns."""
    return datetime.now(UTC)


# -- tables --------------------------------------------------------------------------------


class FacilityRow(Base):
    """A community facility; open while ``closed_on`` is null (or later than the day asked
    about). Its rooms are :class:`FacilityRoomRow` rows."""

    __tablename__ = "facility"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FacilityRoomRow(Base):
    """Floor area of one room purpose of a facility (one row per purpose)."""

    __tablename__ = "facility_room"

    facility_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("facility.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    area_m2: Mapped[float] = mapped_column(AREA_M2)


# -- repository ----------------------------------------------------------------------------


async def get_facility(
    session: AsyncSession, facility_id: str, *, for_update: bool = False
) -> facilities.Facility | None:
    """A facility with its rooms, or None; ``for_update`` locks its row until commit."""
    row = await session.get(FacilityRow, facility_id, with_for_update=for_update or None)
    if row is None:
        return None
    rooms = await session.execute(
        select(FacilityRoomRow.purpose, FacilityRoomRow.area_m2).where(
            FacilityRoomRow.facility_id == facility_id
        )
    )
    return facilities.Facility(facility_snapshot(row, [(p, a) for p, a in rooms]))


def facility_snapshot(
    row: FacilityRow, rooms: Iterable[tuple[str, float]]
) -> facilities.FacilitySnapshot:
    """The domain state of a stored facility and its rooms."""
    return facilities.FacilitySnapshot(
        id=row.id,
        community_id=row.community_id,
        path=path_ids(row.path),
        kind=row.kind,  # type: ignore[arg-type]
        rooms=tuple(sorted((purpose, float(area)) for purpose, area in rooms)),  # type: ignore[misc]
        opened_on=row.opened_on,
        closed_on=row.closed_on,
        version=row.version,
    )


async def save_facility(
    session: AsyncSession, facility: facilities.Facility, *, new: bool = False
) -> None:
    """Insert (``new``: a facility just opened, so no row is looked for) or update a facility
    and its rooms (its events go with the unit of work)."""
    state = facility.state
    moment = now()
    if new:  # Core statements built once: no ORM insert machinery on this hot path
        await session.execute(
            _INSERT_FACILITY, {"id": state.id, "created_at": moment, **_columns(state, moment)}
        )
    else:
        row = await session.get(FacilityRow, state.id)
        if row is None:
            row = FacilityRow(id=state.id, created_at=moment)
            session.add(row)
        else:
            await session.execute(
                delete(FacilityRoomRow).where(FacilityRoomRow.facility_id == state.id)
            )
        for name, value in _columns(state, moment).items():
            setattr(row, name, value)
        await session.flush()  # the facility row first: its rooms refer to it
    if state.rooms:
        await session.execute(
            _INSERT_ROOMS,
            [
                {"facility_id": state.id, "purpose": purpose, "area_m2": area}
                for purpose, area in state.rooms
            ],
        )


_INSERT_FACILITY = insert(cast(Table, FacilityRow.__table__))
_INSERT_ROOMS = insert(cast(Table, FacilityRoomRow.__table__))


def _columns(state: facilities.FacilitySnapshot, moment: datetime) -> dict[str, object]:
    """The facility row's columns that follow its state."""
    return {
        "community_id": state.community_id,
        "path": path_text(state.path),
        "kind": state.kind,
        "opened_on": state.opened_on,
        "closed_on": state.closed_on,
        "version": state.version,
        "updated_at": moment,
    }


# -- domain events → integration events ----------------------------------------------------


def _fields(state: facilities.FacilitySnapshot) -> dict[str, object]:
    return {
        "facility_id": state.id,
        "community_id": state.community_id,
        "path": list(state.path),
        "kind": state.kind,
        "rooms": [contracts.Room(purpose=purpose, area_m2=area) for purpose, area in state.rooms],
        "total_area_m2": state.total_area_m2,
        "opened_on": state.opened_on,
        "version": state.version,
    }


def _opened(event: facilities.FacilityOpened) -> IntegrationEvent:
    return contracts.FacilityOpened.model_validate(_fields(event.facility)), event.facility.id


def _updated(event: facilities.FacilityUpdated) -> IntegrationEvent:
    return contracts.FacilityUpdated.model_validate(_fields(event.facility)), event.facility.id


def _closed(event: facilities.FacilityClosed) -> IntegrationEvent:
    state = event.facility
    assert state.closed_on is not None
    fields = {**_fields(state), "closed_on": state.closed_on}
    return contracts.FacilityClosed.model_validate(fields), state.id


TRANSLATIONS: Translations = {
    facilities.FacilityOpened: _opened,
    facilities.FacilityUpdated: _updated,
    facilities.FacilityClosed: _closed,
}
"""Facility domain events → integration events (partition key: the facility's id)."""
