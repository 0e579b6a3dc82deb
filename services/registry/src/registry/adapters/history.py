"""The history of households and residents: one row per version, valid from a day.

Every domain event of a household or resident carries a copy of the entity right after the
change (:mod:`registry.domain.people`); :func:`record_history` turns each into a version row,
``valid_from`` the day the change took effect (the registration, the moving day, the day of
death…) and ``valid_to`` the day the next version took effect (null: still valid). A version
never starts before the one it follows (a household's move backdated before a member was
registered starts that member's version on their registration). The address, the community
and everything a resident's statistics filter on is kept, so lists and counts can be asked
``as_of`` a day; the national id number, name and birth date never change and stay in the
entity's own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.base import Base
from registry.adapters.paths import path_text
from registry.domain import people as domain
from registry.domain.people import Household, Resident, flags_mask
from shared.db import bulk_insert, insert_records

_PREFIX_OPS = "varchar_pattern_ops"
CHUNK = 1000


class HouseholdVersionRow(Base):
    """One version of a household: where it was registered, from when to when."""

    __tablename__ = "household_history"
    __table_args__ = (
        UniqueConstraint("household_id", "version", name="uq_household_history_version"),
        Index(
            "ix_household_history_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    community_id: Mapped[str] = mapped_column(String(32))
    community_path: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResidentVersionRow(Base):
    """One version of a resident: household, community, statistical state and status."""

    __tablename__ = "resident_history"
    __table_args__ = (
        UniqueConstraint("resident_id", "version", name="uq_resident_history_version"),
        Index(
            "ix_resident_history_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    household_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(32))
    community_path: Mapped[str] = mapped_column(String(200))
    registration: Mapped[str] = mapped_column(String(16))
    permit_expires_on: Mapped[date | None] = mapped_column(Date)
    employment_status: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean)
    flags_mask: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8))
    ended_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class _Version:
    key: str
    values: dict[str, Any]


def _household_version(event: object) -> _Version | None:
    match event:
        case domain.HouseholdRegistered(household=household):
            return _household_values(household, "registered", household.registered_on)
        case domain.HouseholdMoved(household=household, moved_on=moved_on):
            return _household_values(household, "moved", moved_on)
    return None


def _household_values(household: Household, change: str, valid_from: date) -> _Version:
    return _Version(
        household.id,
        {
            "household_id": household.id,
            "version": household.version,
            "change": change,
            "valid_from": valid_from,
            "community_id": household.community_id,
            "community_path": path_text(household.path),
            "address": household.address,
        },
    )


def _resident_version(event: object) -> _Version | None:
    match event:
        case domain.ResidentRegistered(resident=resident, on=on):
            return _resident_values(resident, "registered", on)
        case domain.ResidentUpdated(resident=resident, on=on):
            return _resident_values(resident, "updated", on)
        case domain.ResidentMoved(resident=resident, on=on):
            return _resident_values(resident, "moved", on)
        case domain.ResidentDied(resident=resident, died_on=died_on):
            return _resident_values(resident, "died", died_on)
        case domain.ResidentLeft(resident=resident, left_on=left_on):
            return _resident_values(resident, "left", left_on)
    return None


def _resident_values(resident: Resident, change: str, valid_from: date) -> _Version:
    return _Version(
        resident.id,
        {
            "resident_id": resident.id,
            "version": resident.version,
            "change": change,
            "valid_from": valid_from,
            "household_id": resident.household_id,
            "community_id": resident.community_id,
            "community_path": path_text(resident.path),
            "registration": resident.registration,
            "permit_expires_on": resident.permit_expires_on,
            "employment_status": resident.employment_status,
            "disabled": resident.disabled,
            "flags_mask": flags_mask(resident.flags),
            "status": resident.status,
            "ended_on": resident.ended_on,
        },
    )


async def record_history(
    session: AsyncSession, events: Sequence[object], *, new: bool = False
) -> None:
    """Write the versions the household and resident events record, closing the versions
    they follow. ``new``: the entities were just registered (nothing to close)."""
    for table, key, version_of in (
        (HouseholdVersionRow.__table__, "household_id", _household_version),
        (ResidentVersionRow.__table__, "resident_id", _resident_version),
    ):
        versions = [found for event in events if (found := version_of(event)) is not None]
        if versions:
            await _write(session, table, key, versions, new=new)  # type: ignore[arg-type]


async def _write(
    session: AsyncSession, table: Table, key: str, versions: list[_Version], *, new: bool
) -> None:
    now = datetime.now(UTC)
    if new and len({version.key for version in versions}) == len(versions):
        # One version per new entity (a bulk registration): rows as they are, each a tuple
        # of its values (every version of a table has its keys in one order), no dict a row.
        columns = (*versions[0].values, "valid_to", "recorded_at")
        records = [(*version.values.values(), None, now) for version in versions]
        await insert_records(session, table, columns, records)
        return
    column = table.c[key]
    last_from: dict[str, date] = {}
    if not new:
        ids = sorted({version.key for version in versions})
        for start in range(0, len(ids), CHUNK):
            query = select(column, table.c.valid_from).where(
                column.in_(ids[start : start + CHUNK]), table.c.valid_to.is_(None)
            )
            last_from.update((key, day) for key, day in await session.execute(query))
    rows: list[dict[str, Any]] = []
    latest: dict[str, dict[str, Any]] = {}  # the newest row written here, per entity
    closing: dict[str, dict[str, Any]] = {}
    for version in versions:
        row = {**version.values, "valid_to": None, "recorded_at": now}
        earlier = latest.get(version.key)
        previous = earlier["valid_from"] if earlier else last_from.get(version.key)
        if previous is not None:
            row["valid_from"] = max(row["valid_from"], previous)
            if earlier is not None:
                earlier["valid_to"] = row["valid_from"]
            else:
                closing[version.key] = {"entity": version.key, "until": row["valid_from"]}
        latest[version.key] = row
        rows.append(row)
    if closing:
        connection = await session.connection()
        await connection.execute(
            update(table)
            .where(column == bindparam("entity"), table.c.valid_to.is_(None))
            .values(valid_to=bindparam("until")),
            list(closing.values()),
        )
    await bulk_insert(session, table, rows)
