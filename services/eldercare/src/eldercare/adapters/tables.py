"""Tables owned by the eldercare service (the platform's outbox/inbox tables come from shared).

Every record of an elder keeps the elder's community path as text (``/city/district/street/
community/``), so area confinement and ``within`` filters are one match on an indexed column.
The unique keys carry the service's "once" rules: one entitlement per elder and kind, one
ledger line per entitlement and month.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.ages import HeldAgeColumns
from shared.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the eldercare service's tables."""

    metadata = new_metadata()


class ElderRow(Base):
    """A resident the registry announced: on the roster, waiting to reach the threshold, or
    ended (deceased, left); ``known_age*`` is the best age its events told
    (:class:`shared.ages.KnownAge`)."""

    __tablename__ = "elders"

    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    sex: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean)
    living_alone: Mapped[bool] = mapped_column(Boolean)
    empty_nest: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    first_seen_on: Mapped[date] = mapped_column(Date)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    care_level: Mapped[int | None] = mapped_column(Integer)
    registry_version: Mapped[int] = mapped_column(Integer)
    known_age: Mapped[int | None] = mapped_column(Integer)
    known_age_on: Mapped[date | None] = mapped_column(Date)
    known_age_exact: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_elders_status_birth_year", "status", "birth_year"),)


class HeldAgeRow(HeldAgeColumns, Base):
    """An age milestone of a resident eldercare has no state of yet (:mod:`shared.ages`)."""

    __tablename__ = "held_age"


class EntitlementRow(Base):
    """An age entitlement of one elder (proposed, granted or declined)."""

    __tablename__ = "entitlements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    age: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    proposed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(200))
    monthly_amount_fen: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("resident_id", "kind", name="uq_entitlements_resident_kind"),
    )


class PaymentRow(Base):
    """One line of the subsidy ledger, in fen: a month of a granted subsidy, or a hardship
    medical subsidy approved by a casework case (at most one line per case)."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entitlement_id: Mapped[str | None] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(String(36))
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("entitlement_id", "month", name="uq_payments_entitlement_month"),
        UniqueConstraint("case_id", name="uq_payments_case"),
    )


class AssessmentRow(Base):
    """A scored assessment with its item answers."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    instrument: Mapped[str] = mapped_column(String(40))
    barthel: Mapped[dict[str, int]] = mapped_column(JSON)
    iadl_dependent: Mapped[list[str]] = mapped_column(JSON)
    barthel_score: Mapped[int] = mapped_column(Integer)
    iadl_dependent_count: Mapped[int] = mapped_column(Integer)
    care_level: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    reassess_on: Mapped[date] = mapped_column(Date, index=True)
    assessor: Mapped[str] = mapped_column(String(200))


class CentreRow(Base):
    """A community day-care centre or an institution."""

    __tablename__ = "centres"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    capacity: Mapped[int] = mapped_column(Integer)


class PlacementRow(Base):
    """A placement request: waiting, active or ended."""

    __tablename__ = "placements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    centre_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    requested_on: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    care_level: Mapped[int] = mapped_column(Integer)
    vulnerable: Mapped[bool] = mapped_column(Boolean)
    birth_year: Mapped[int] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_placements_centre_status", "centre_id", "status"),)


class OrderRow(Base):
    """A service order."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    service: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    created_on: Mapped[date] = mapped_column(Date)
    assignee_kind: Mapped[str | None] = mapped_column(String(16))
    assignee_id: Mapped[str | None] = mapped_column(String(64))
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(16))


class VisitRow(Base):
    """A scheduled visit of an order."""

    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(36), index=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    missed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_visits_status_window_end", "status", "window_end"),)


class AreaRow(Base):
    """An area as the registry published it (kept from its area events): where a centre's
    community lies."""

    __tablename__ = "area"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class VolunteerRow(Base):
    """A volunteer the registry announced (orders may be assigned to them)."""

    __tablename__ = "volunteers"

    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
