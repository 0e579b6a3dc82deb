"""Case and visit tables, their repository functions, and the mapping of case domain events
(:mod:`casework.domain.cases`) to the integration events of ``shared.contracts.casework``.

The columns a query filters on (state, department, area path, due date, number, visit) are
columns; the rest of a case (documents, hops, history, mediation, …) is one JSON document.
The verification code for tracking is stored only as a salted PBKDF2 digest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, LargeBinary, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from casework.adapters.base import Base
from casework.adapters.paths import path_ids, path_text, within
from casework.domain import cases
from casework.domain.calendar import WorkingCalendar
from casework.domain.clock import Clock
from shared.contracts import EventPayload
from shared.contracts import casework as contracts
from shared.db import as_utc
from shared.unit_of_work import IntegrationEvent, Translations


def now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)


class VisitRow(Base):
    """One visit to the window: an application that opened one or more cases."""

    __tablename__ = "visit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseRow(Base):
    """One case; ``details`` holds what no query filters on."""

    __tablename__ = "case_file"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    visit_id: Mapped[str] = mapped_column(String(36), index=True)
    matter_code: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    suspended: Mapped[bool] = mapped_column(Boolean)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[int | None] = mapped_column(Integer)
    code_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- (de)serialisation -----------------------------------------------------------------------


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _moment(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def _details(case: cases.Case) -> dict[str, Any]:
    clock = case.clock
    mediation = case.mediation
    return {
        "matter": {
            **asdict(case.matter),
            "required_documents": list(case.matter.required_documents),
        },
        "documents": list(case.documents),
        "clock": {
            "limit_days": clock.limit_days,
            "extended_days": clock.extended_days,
            "used_days": clock.used_days,
            "running_since": None
            if clock.running_since is None
            else clock.running_since.isoformat(),
            "stopped": clock.stopped,
        },
        "agent_id": case.agent_id,
        "hops": [
            {"kind": hop.kind, "actor_id": hop.actor_id, "at": hop.at.isoformat()}
            for hop in case.hops
        ],
        "outcome": case.outcome,
        "reason": case.reason,
        "decided_on": None if case.decided_on is None else case.decided_on.isoformat(),
        "amount_fen": case.amount_fen,
        "within_time_limit": case.within_time_limit,
        "comment": case.comment,
        "reopen_count": case.reopen_count,
        "due_soon_raised": case.due_soon_raised,
        "overdue_raised": case.overdue_raised,
        "escalated": case.escalated,
        "related_case_ids": list(case.related_case_ids),
        "mediation": None
        if mediation is None
        else {
            "parties": [asdict(party) for party in mediation.parties],
            "sessions": [
                {"number": s.number, "held_on": s.held_on.isoformat(), "mediator_id": s.mediator_id}
                for s in mediation.sessions
            ],
            "outcome": mediation.outcome,
            "terms": mediation.terms,
            "concluded_on": _iso(mediation.concluded_on),
            "follow_up_on": _iso(mediation.follow_up_on),
            "followed_up_on": _iso(mediation.followed_up_on),
        },
        "history": [
            {
                "action": entry.action,
                "from_state": entry.from_state,
                "to_state": entry.to_state,
                "actor_id": entry.actor_id,
                "at": entry.at.isoformat(),
            }
            for entry in case.history
        ],
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def case_of(row: CaseRow) -> cases.Case:
    """The domain entity of a stored case."""
    d = row.details
    matter = d["matter"]
    clock = d["clock"]
    mediation = d["mediation"]
    return cases.Case(
        id=row.id,
        number=row.number,
        visit_id=row.visit_id,
        matter=cases.MatterTerms(
            code=matter["code"],
            kind=matter["kind"],
            department=matter["department"],
            on_the_spot=matter["on_the_spot"],
            time_limit_days=matter["time_limit_days"],
            required_documents=tuple(matter["required_documents"]),
            pays=matter.get("pays", False),
        ),
        resident_id=row.resident_id,
        community_id=row.community_id,
        path=path_ids(row.path),
        submitted_at=as_utc(row.submitted_at),
        state=row.state,  # type: ignore[arg-type]
        documents=tuple(d["documents"]),
        clock=Clock(
            limit_days=clock["limit_days"],
            extended_days=clock["extended_days"],
            used_days=clock["used_days"],
            running_since=_day(clock["running_since"]),
            stopped=clock["stopped"],
        ),
        suspended=row.suspended,
        agent_id=d["agent_id"],
        hops=tuple(cases.Hop(h["kind"], h["actor_id"], _moment(h["at"])) for h in d["hops"]),
        outcome=d["outcome"],
        reason=d["reason"],
        decided_on=_day(d["decided_on"]),
        amount_fen=d.get("amount_fen"),
        closed_on=row.closed_on,
        within_time_limit=d["within_time_limit"],
        rating=row.rating,
        comment=d["comment"],
        reopen_count=d["reopen_count"],
        due_soon_raised=d["due_soon_raised"],
        overdue_raised=d["overdue_raised"],
        escalated=d["escalated"],
        related_case_ids=tuple(d["related_case_ids"]),
        mediation=None
        if mediation is None
        else cases.Mediation(
            parties=tuple(cases.Party(**party) for party in mediation["parties"]),
            sessions=tuple(
                cases.MediationSession(
                    s["number"], date.fromisoformat(s["held_on"]), s["mediator_id"]
                )
                for s in mediation["sessions"]
            ),
            outcome=mediation["outcome"],
            terms=mediation["terms"],
            concluded_on=_day(mediation["concluded_on"]),
            follow_up_on=_day(mediation["follow_up_on"]),
            followed_up_on=_day(mediation["followed_up_on"]),
        ),
        history=tuple(
            cases.HistoryEntry(
                e["action"], e["from_state"], e["to_state"], e["actor_id"], _moment(e["at"])
            )
            for e in d["history"]
        ),
        version=row.version,
    )


# -- repository ------------------------------------------------------------------------------


async def get(
    session: AsyncSession, case_id: str, *, for_update: bool = False
) -> cases.Case | None:
    """A case, or None; ``for_update`` locks its row until commit."""
    row = await session.get(CaseRow, case_id, with_for_update=for_update or None)
    return None if row is None else case_of(row)


async def by_number(session: AsyncSession, number: str) -> tuple[cases.Case, bytes, bytes] | None:
    """A case by its number with its code's salt and digest, or None."""
    row = await session.scalar(select(CaseRow).where(CaseRow.number == number))
    return None if row is None else (case_of(row), row.code_salt, row.code_digest)


async def number_taken(session: AsyncSession, number: str) -> bool:
    """Whether a case already has ``number``."""
    return await session.scalar(select(CaseRow.id).where(CaseRow.number == number)) is not None


async def save(
    session: AsyncSession,
    case: cases.Case,
    calendar: WorkingCalendar,
    *,
    code: tuple[bytes, bytes] | None = None,
) -> None:
    """Insert (with the code's salt and digest) or update a case."""
    row = await session.get(CaseRow, case.id)
    if row is None:
        assert code is not None, "a new case needs its verification code"
        row = CaseRow(id=case.id, code_salt=code[0], code_digest=code[1])
        session.add(row)
    row.number = case.number
    row.visit_id = case.visit_id
    row.matter_code = case.matter.code
    row.department = case.matter.department
    row.resident_id = case.resident_id
    row.community_id = case.community_id
    row.path = path_text(case.path)
    row.state = case.state
    row.suspended = case.suspended
    row.due_on = case.clock.due_on(calendar) if case.state in cases.IN_PROGRESS else None
    row.closed_on = case.closed_on
    row.rating = case.rating
    row.details = _details(case)
    row.version = case.version
    row.submitted_at = case.submitted_at.astimezone(UTC)
    row.updated_at = now()
    await session.flush()


async def save_visit(
    session: AsyncSession,
    *,
    visit_id: str,
    resident_id: str,
    community_id: str,
    path: Sequence[str],
    at: datetime,
) -> None:
    """Record a visit."""
    session.add(
        VisitRow(
            id=visit_id,
            resident_id=resident_id,
            community_id=community_id,
            path=path_text(path),
            submitted_at=at,
        )
    )
    await session.flush()


async def visit(session: AsyncSession, visit_id: str) -> tuple[VisitRow, list[cases.Case]] | None:
    """A visit and its cases (by number), or None."""
    row = await session.get(VisitRow, visit_id)
    if row is None:
        return None
    found = await session.scalars(
        select(CaseRow).where(CaseRow.visit_id == visit_id).order_by(CaseRow.number)
    )
    return row, [case_of(case) for case in found]


async def listing(
    session: AsyncSession,
    *,
    area_ids: Sequence[str] = (),
    state: str | None = None,
    department: str | None = None,
    matter_code: str | None = None,
    resident_id: str | None = None,
    overdue_on: date | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[cases.Case]:
    """Cases by id whose path passes through every one of ``area_ids``, filtered;
    ``overdue_on`` keeps the running cases due before that day."""
    query = select(CaseRow).where(*(within(CaseRow.path, area) for area in area_ids))
    if state is not None:
        query = query.where(CaseRow.state == state)
    if department is not None:
        query = query.where(CaseRow.department == department)
    if matter_code is not None:
        query = query.where(CaseRow.matter_code == matter_code)
    if resident_id is not None:
        query = query.where(CaseRow.resident_id == resident_id)
    if overdue_on is not None:
        query = query.where(CaseRow.due_on < overdue_on)
    if after is not None:
        query = query.where(CaseRow.id > after)
    rows = await session.scalars(query.order_by(CaseRow.id).limit(limit))
    return [case_of(row) for row in rows]


async def running_ids(session: AsyncSession) -> list[str]:
    """Ids of the cases whose clock runs (the sweep's candidates)."""
    found = await session.scalars(
        select(CaseRow.id).where(
            CaseRow.state.in_(sorted(cases.IN_PROGRESS)), CaseRow.suspended.is_(False)
        )
    )
    return list(found)


async def any_case(session: AsyncSession) -> bool:
    """Whether there is any case at all."""
    return await session.scalar(select(CaseRow.id).limit(1)) is not None


# -- domain events → integration events ------------------------------------------------------


def _facts(facts: cases.CaseFacts) -> dict[str, Any]:
    return {
        "case_id": facts.case_id,
        "visit_id": facts.visit_id,
        "matter_code": facts.matter_code,
        "department": facts.department,
        "community_id": facts.community_id,
        "path": list(facts.path),
        "state": facts.state,
        "version": facts.version,
    }


def _mapping(payload: type[EventPayload]) -> Callable[[Any], IntegrationEvent]:
    """Maps a domain event to ``payload``: the case's facts plus the event's other fields
    (tuples as lists)."""

    def translate(event: Any) -> IntegrationEvent:
        extra = {
            f.name: list(value) if isinstance(value, tuple) else value
            for f in fields(event)
            if f.name != "case"
            for value in [getattr(event, f.name)]
        }
        return payload.model_validate({**_facts(event.case), **extra}), event.case.case_id

    return translate


TRANSLATIONS: Translations = {
    cases.CaseSubmitted: _mapping(contracts.CaseSubmitted),
    cases.CaseAccepted: _mapping(contracts.CaseAccepted),
    cases.CaseReturned: _mapping(contracts.CaseReturned),
    cases.CaseResubmitted: _mapping(contracts.CaseResubmitted),
    cases.CaseSettled: _mapping(contracts.CaseSettled),
    cases.CaseDelegated: _mapping(contracts.CaseDelegated),
    cases.CaseHopRecorded: _mapping(contracts.CaseHopRecorded),
    cases.CaseForwarded: _mapping(contracts.CaseForwarded),
    cases.CaseDecided: _mapping(contracts.CaseDecided),
    cases.CaseClosed: _mapping(contracts.CaseClosed),
    cases.CaseWithdrawn: _mapping(contracts.CaseWithdrawn),
    cases.CaseRated: _mapping(contracts.CaseRated),
    cases.CaseReopened: _mapping(contracts.CaseReopened),
    cases.CaseSuspended: _mapping(contracts.CaseSuspended),
    cases.CaseResumed: _mapping(contracts.CaseResumed),
    cases.CaseExtended: _mapping(contracts.CaseExtended),
    cases.CaseDueSoon: _mapping(contracts.CaseDueSoon),
    cases.CaseOverdue: _mapping(contracts.CaseOverdue),
    cases.CaseEscalated: _mapping(contracts.CaseEscalated),
    cases.PetitionEscalated: _mapping(contracts.PetitionEscalated),
    cases.MediationSessionHeld: _mapping(contracts.MediationSessionHeld),
    cases.MediationAgreementReached: _mapping(contracts.MediationAgreementReached),
}
"""Case domain events → integration events (partition key: the case id)."""
