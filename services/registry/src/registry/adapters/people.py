"""Tables of households and residents, and the mapping from a stored resident to the
statistical state its events carry.

A resident's community id and path are copied from its household (and kept in step by every
move), so area-subtree filters are one prefix match on an indexed column. Special-group flags
are a bit mask (:data:`registry.domain.people.FLAG_BITS`), so "has these flags" is one
``mask & wanted = wanted`` test. The national id number is only stored encrypted, with a
keyed hash for look-up; the name and the address are stored and never published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.tables import Base
from registry.domain.people import age_band, flags_of

# PostgreSQL only uses a b-tree for ``LIKE 'prefix%'`` under the C collation or with the
# pattern operator class; SQLite ignores the option.
_PREFIX_OPS = "varchar_pattern_ops"


class HouseholdRow(Base):
    """A household registered in a community (its address is never published)."""

    __tablename__ = "household"
    __table_args__ = (
        Index(
            "ix_household_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("area.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    registered_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # Optimistic locking: an UPDATE only applies to the version it read (the use cases set
    # the new version, which their events carry).
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy declares it an instance attribute
        "version_id_col": version,
        "version_id_generator": False,
    }

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to the household's community."""
        return _ids(self.community_path)


class ResidentRow(Base):
    """A resident of a household. ``status`` is ``alive``, ``dead`` or ``left``;
    ``permit_warned_for`` is the permit expiry a ``permit_expiring`` event was raised for."""

    __tablename__ = "resident"
    __table_args__ = (
        Index(
            "ix_resident_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    national_id_encrypted: Mapped[str] = mapped_column(String(200))
    national_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("household.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    community_path: Mapped[str] = mapped_column(String(200))
    registration: Mapped[str] = mapped_column(String(16), index=True)
    permit_expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    permit_warned_for: Mapped[date | None] = mapped_column(Date)
    employment_status: Mapped[str] = mapped_column(String(32), index=True)
    disabled: Mapped[bool] = mapped_column(Boolean)
    flags_mask: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), index=True)
    ended_on: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy declares it an instance attribute
        "version_id_col": version,
        "version_id_generator": False,
    }

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to the resident's community."""
        return _ids(self.community_path)


@dataclass(slots=True)
class NewResidentValues:
    """The column values of a resident about to be inserted in bulk (a plain object: building
    thousands of ORM instances costs more than inserting them)."""

    id: str
    national_id_encrypted: str
    national_id_hash: str
    name: str
    sex: str
    birth_date: date
    household_id: str
    community_id: str
    community_path: str
    registration: str
    permit_expires_on: date | None
    permit_warned_for: date | None
    employment_status: str
    disabled: bool
    flags_mask: int
    status: str
    ended_on: date | None
    registered_on: date
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to the resident's community."""
        return _ids(self.community_path)

    def columns(self) -> dict[str, Any]:
        """The values by column name, for an INSERT."""
        return {name: getattr(self, name) for name in self.__slots__}


def resident_state(row: ResidentRow | NewResidentValues, *, on: date) -> dict[str, Any]:
    """The fields of :class:`shared.contracts.registry.ResidentState` for ``row``, with the
    age band on ``on``: ids and derived facts only, never the number, name or address."""
    return {
        "resident_id": row.id,
        "household_id": row.household_id,
        "community_id": row.community_id,
        "path": row.path_ids,
        "sex": row.sex,
        "birth_year": row.birth_date.year,
        "age_band": age_band(row.birth_date, on),
        "registration": row.registration,
        "permit_expires_on": row.permit_expires_on,
        "employment_status": row.employment_status,
        "disabled": row.disabled,
        "flags": flags_of(row.flags_mask),
        "version": row.version,
    }


def area_path(path_ids: list[str]) -> str:
    """The stored form of a path: ``/city/district/street/community/``."""
    return "/" + "/".join(path_ids) + "/"


def _ids(path: str) -> list[str]:
    return [part for part in path.split("/") if part]
