"""Tables owned by the employment service (the platform's outbox/inbox tables come from shared).

Area paths are stored as ``/city/district/street/community/`` text (a subtree is one prefix
match). ``seeker_skill`` and ``vacancy_skill`` are the matching indexes: one row per skill a
matchable seeker covers (held skills and the broader ones above them) and per skill an open
vacancy names, so the candidates of a match and their skill counts come from one grouped,
indexed query (see ``employment.matcher``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.ages import HeldAgeColumns
from shared.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the employment service's tables."""

    metadata = new_metadata()


class AreaRow(Base):
    """An area as the registry published it (kept from its area events)."""

    __tablename__ = "area"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200), index=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class ResidentRow(Base):
    """The facts the employment service keeps of a registry resident (from its events);
    ``known_age*`` is the best age they told (:class:`shared.ages.KnownAge`)."""

    __tablename__ = "resident"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int] = mapped_column(Integer)
    employment_status: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean)
    registration: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str]] = mapped_column(JSON)
    present: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    known_age: Mapped[int | None] = mapped_column(Integer)
    known_age_on: Mapped[date | None] = mapped_column(Date)
    known_age_exact: Mapped[bool] = mapped_column(Boolean, default=False)


class HeldAgeRow(HeldAgeColumns, Base):
    """An age milestone of a resident the service has no state of yet (:mod:`shared.ages`)."""

    __tablename__ = "held_age"


class SeekerRow(Base):
    """A job seeker."""

    __tablename__ = "seeker"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(36), unique=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    derived_groups: Mapped[list[str]] = mapped_column(JSON)
    recorded_groups: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    education: Mapped[str] = mapped_column(String(16))
    hours: Mapped[list[str]] = mapped_column(JSON)
    max_hours_per_week: Mapped[int] = mapped_column(Integer)
    wage_expectation_fen: Mapped[int | None] = mapped_column(BigInteger)
    preferred_area_ids: Mapped[list[str]] = mapped_column(JSON)
    preferred_paths: Mapped[list[list[str]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    card: Mapped[str] = mapped_column(String(16))
    card_changed_on: Mapped[date | None] = mapped_column(Date)
    card_revocation: Mapped[str | None] = mapped_column(String(40))
    registered_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeekerSkillRow(Base):
    """Matching index: a skill a matchable seeker covers, with what the score needs of the
    seeker besides skills (so candidates are ranked in one grouped query)."""

    __tablename__ = "seeker_skill"
    __table_args__ = (Index("ix_seeker_skill_seeker", "seeker_id"),)

    skill: Mapped[str] = mapped_column(String(64), primary_key=True)
    seeker_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("seeker.id", ondelete="CASCADE"), primary_key=True
    )
    groups: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(200))
    depth: Mapped[int] = mapped_column(Integer)
    hours_mask: Mapped[int] = mapped_column(Integer)
    max_hours: Mapped[int] = mapped_column(Integer)
    wage_fen: Mapped[int | None] = mapped_column(BigInteger)
    preferred: Mapped[str] = mapped_column(String(1000), doc="Preferred areas' paths, ;-joined.")


class EmployerRow(Base):
    """An employer."""

    __tablename__ = "employer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    training_partner: Mapped[bool] = mapped_column(Boolean)


class VacancyRow(Base):
    """A vacancy; ``changed_at`` orders the change stream for integrators."""

    __tablename__ = "vacancy"
    __table_args__ = (Index("ix_vacancy_changed", "changed_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200))
    required_skills: Mapped[list[str]] = mapped_column(JSON)
    nice_skills: Mapped[list[str]] = mapped_column(JSON)
    hours: Mapped[str] = mapped_column(String(16))
    hours_per_week: Mapped[int] = mapped_column(Integer)
    wage_fen: Mapped[int] = mapped_column(BigInteger)
    posts: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer)
    max_tenure_months: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    training_partner: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VacancySkillRow(Base):
    """Matching index: a skill an open vacancy names (required or nice-to-have), with what the
    score needs of the vacancy besides skills."""

    __tablename__ = "vacancy_skill"
    __table_args__ = (Index("ix_vacancy_skill_vacancy", "vacancy_id"),)

    skill: Mapped[str] = mapped_column(String(64), primary_key=True)
    vacancy_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("vacancy.id", ondelete="CASCADE"), primary_key=True
    )
    required: Mapped[bool] = mapped_column(Boolean)
    required_count: Mapped[int] = mapped_column(Integer)
    nice_count: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200))
    depth: Mapped[int] = mapped_column(Integer)
    hours_mask: Mapped[int] = mapped_column(Integer)
    hours_per_week: Mapped[int] = mapped_column(Integer)
    wage_fen: Mapped[int] = mapped_column(BigInteger)
    training_partner: Mapped[bool] = mapped_column(Boolean)


class WelfareQuotaRow(Base):
    """A community's quota of public-welfare posts."""

    __tablename__ = "welfare_quota"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    posts: Mapped[int] = mapped_column(Integer)


class MatchRow(Base):
    """A proposed match and its score, term by term."""

    __tablename__ = "match"
    __table_args__ = (Index("ix_match_pair", "vacancy_id", "seeker_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vacancy_id: Mapped[str] = mapped_column(ForeignKey("vacancy.id"))
    seeker_id: Mapped[str] = mapped_column(ForeignKey("seeker.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    seeker_path: Mapped[str] = mapped_column(String(200))
    vacancy_kind: Mapped[str] = mapped_column(String(32))
    priority_groups: Mapped[list[str]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    missing_required: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    declined_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CourseRow(Base):
    """A training course."""

    __tablename__ = "course"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    skills: Mapped[list[str]] = mapped_column(JSON)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    sessions: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    enrolled: Mapped[int] = mapped_column(Integer)


class EnrolmentRow(Base):
    """A seeker's enrolment in a course."""

    __tablename__ = "enrolment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("course.id"), index=True)
    seeker_id: Mapped[str] = mapped_column(ForeignKey("seeker.id"), index=True)
    seeker_path: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    sessions_attended: Mapped[int] = mapped_column(Integer)
    ended_on: Mapped[date | None] = mapped_column(Date)


class AttendanceRow(Base):
    """A session day an enrolled seeker attended."""

    __tablename__ = "attendance"

    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolment.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class PlacementRow(Base):
    """A placement."""

    __tablename__ = "placement"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    match_id: Mapped[str] = mapped_column(ForeignKey("match.id"), unique=True)
    seeker_id: Mapped[str] = mapped_column(ForeignKey("seeker.id"), index=True)
    vacancy_id: Mapped[str] = mapped_column(ForeignKey("vacancy.id"), index=True)
    employer_id: Mapped[str] = mapped_column(String(36))
    vacancy_kind: Mapped[str] = mapped_column(String(32))
    vacancy_community_id: Mapped[str] = mapped_column(String(32), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    priority_groups: Mapped[list[str]] = mapped_column(JSON)
    started_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    reemployed_on: Mapped[date | None] = mapped_column(Date)


class RetentionCheckRow(Base):
    """A retention check of a placement; scheduled ones are found by due date."""

    __tablename__ = "retention_check"
    __table_args__ = (Index("ix_retention_check_due", "status", "due_on"),)

    placement_id: Mapped[str] = mapped_column(ForeignKey("placement.id"), primary_key=True)
    months: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    checked_on: Mapped[date | None] = mapped_column(Date)


class LoanRow(Base):
    """A micro-loan."""

    __tablename__ = "loan"
    __table_args__ = (Index("ix_loan_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seeker_id: Mapped[str] = mapped_column(ForeignKey("seeker.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    guarantee: Mapped[str | None] = mapped_column(String(32))
    applied_on: Mapped[date] = mapped_column(Date)
    approved_on: Mapped[date | None] = mapped_column(Date)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    arrears_since: Mapped[date | None] = mapped_column(Date)


class InstalmentRow(Base):
    """One instalment of a loan's schedule."""

    __tablename__ = "loan_instalment"

    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)


class RepaymentRow(Base):
    """A repayment received."""

    __tablename__ = "loan_repayment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
