"""Use cases of cases (commands): submit a visit with one or more matters, and every step of a
case's life cycle, its clock, satisfaction, mediation and petition links.

A command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and keyword-only
arguments; the :class:`~casework.domain.cases.Case` records its domain events and the unit
writes their integration events with the change. Every command confines the caller to its area:
a case outside the token's area is reported as not found (404). ``at`` lets tests and the demo
loader choose the moment (default: now).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from casework.adapters import cases as store
from casework.adapters import reference
from casework.domain import cases
from casework.domain.eligibility import ResidentFacts, check_conditions
from casework.views import CaseView, china_now, view
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.casework import HopKind, Outcome
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Verification code characters (no 0/O, 1/I)."""
CODE_LENGTH = 8
CODE_ITERATIONS = 20_000
MAX_MATTERS_PER_VISIT = 10


def now() -> datetime:
    """The current instant in China's civil time (a case's days are China's days)."""
    return china_now()


def code_digest(code: str, salt: bytes) -> bytes:
    """The stored digest of a verification code (PBKDF2-HMAC-SHA256)."""
    return hashlib.pbkdf2_hmac("sha256", code.strip().upper().encode(), salt, CODE_ITERATIONS)


def code_matches(code: str, salt: bytes, digest: bytes) -> bool:
    """Whether ``code`` is the one whose digest is stored (constant time)."""
    return hmac.compare_digest(code_digest(code, salt), digest)


@dataclass(frozen=True)
class MatterApplication:
    """One matter of a visit: which, the documents brought, and for a petition the related
    cases, for a mediation the parties."""

    matter_code: str
    documents: Sequence[str] = ()
    related_case_ids: Sequence[str] = ()
    parties: Sequence[cases.Party] = ()


@dataclass(frozen=True)
class SubmittedCase:
    """A case as submitted, with its verification code (shown once, never stored)."""

    case: cases.Case
    verification_code: str


@dataclass(frozen=True)
class Visit:
    """A visit and its cases."""

    id: str
    resident_id: str
    community_id: str
    submitted_at: datetime
    cases: list[cases.Case]
    codes: dict[str, str] = field(default_factory=dict)


async def _resident(uow: UnitOfWork, principal: Principal, resident_id: str) -> ResidentFacts:
    """The resident's facts; unknown and outside the area are the same refusal."""
    facts = await reference.resident(uow.session, resident_id)
    if facts is None or not principal.may_access(facts.path):
        raise InvalidInput(
            "resident not known to casework",
            errors=[
                FieldError(
                    "resident_id",
                    "no registered resident with this id in your area (casework learns of "
                    "residents from the registry's events)",
                    code="unknown-resident",
                )
            ],
        )
    return facts


async def _new_number(uow: UnitOfWork, day: date) -> str:
    for _ in range(20):
        number = f"{day:%Y%m%d}{secrets.randbelow(10**6):06d}"
        if not await store.number_taken(uow.session, number):
            return number
    raise RuntimeError("no free case number for today")  # a million cases in one day


async def submit_visit(
    uow: UnitOfWork,
    *,
    principal: Principal,
    resident_id: str,
    matters: Sequence[MatterApplication],
    at: datetime | None = None,
) -> Visit:
    """One visit opening a case per matter (``CaseSubmitted`` each), after checking every
    matter's conditions against the resident's registry facts."""
    moment = at or now()
    if not matters or len(matters) > MAX_MATTERS_PER_VISIT:
        raise InvalidInput(
            "one to ten matters per visit",
            errors=[FieldError("matters", f"between 1 and {MAX_MATTERS_PER_VISIT} matters")],
        )
    codes = [application.matter_code for application in matters]
    if len(set(codes)) != len(codes):
        raise InvalidInput(
            "a matter is listed twice", errors=[FieldError("matters", "each matter once")]
        )
    facts = await _resident(uow, principal, resident_id)
    catalogue = {matter.code: matter for matter in await reference.matters(uow.session)}
    for index, application in enumerate(matters):
        matter = catalogue.get(application.matter_code)
        if matter is None:
            raise InvalidInput(
                f"no matter {application.matter_code}",
                errors=[FieldError(f"matters.{index}.matter_code", "not in the catalogue")],
            )
        check_conditions(matter, facts, moment.date(), field=f"matters.{index}.matter_code")
        for related in application.related_case_ids:
            found = await store.get(uow.session, related)
            if found is None or not principal.may_access(found.path):
                raise InvalidInput(
                    f"no case {related}",
                    errors=[FieldError(f"matters.{index}.related_case_ids", f"no case {related}")],
                )
    visit_id = str(uuid.uuid4())
    await store.save_visit(
        uow.session,
        visit_id=visit_id,
        resident_id=resident_id,
        community_id=facts.community_id,
        path=facts.path,
        at=moment,
    )
    calendar = await reference.calendar(uow.session)
    opened: list[cases.Case] = []
    plain_codes: dict[str, str] = {}
    for application in matters:
        case = cases.Case.submit(
            case_id=str(uuid.uuid4()),
            number=await _new_number(uow, moment.date()),
            visit_id=visit_id,
            matter=catalogue[application.matter_code],
            resident_id=resident_id,
            community_id=facts.community_id,
            path=facts.path,
            documents=application.documents,
            related_case_ids=application.related_case_ids,
            parties=application.parties,
            at=moment,
        )
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        salt = secrets.token_bytes(16)
        uow.track(case)
        await store.save(uow.session, case, calendar, code=(salt, code_digest(code, salt)))
        audit.record_change(uow, principal, "create", "case", case.id, case.path)
        opened.append(case)
        plain_codes[case.id] = code
    return Visit(visit_id, resident_id, facts.community_id, moment, opened, plain_codes)


async def _case(uow: UnitOfWork, principal: Principal, case_id: str) -> cases.Case:
    """The case a command changes, locked, confined to the caller's area and audited (the
    audit row commits with the change, or not at all)."""
    case = await store.get(uow.session, case_id, for_update=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    ensure_area(principal, case.path)
    uow.track(case)
    audit.record_change(uow, principal, "update", "case", case.id, case.path)
    return case


async def _save(uow: UnitOfWork, case: cases.Case) -> CaseView:
    calendar = await reference.calendar(uow.session)
    await store.save(uow.session, case, calendar)
    return view(case, calendar, china_now().date())


async def accept(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Accept a complete application; the clock starts."""
    case = await _case(uow, principal, case_id)
    case.accept(await reference.calendar(uow.session), actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def return_case(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    missing_documents: Sequence[str],
    at: datetime | None = None,
) -> CaseView:
    """Return an application with the list of missing documents."""
    case = await _case(uow, principal, case_id)
    case.return_for_documents(missing_documents, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def resubmit(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    documents: Sequence[str],
    at: datetime | None = None,
) -> CaseView:
    """The applicant brings the missing documents."""
    case = await _case(uow, principal, case_id)
    case.resubmit(documents, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def settle(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    outcome: Outcome,
    reason: str | None = None,
    at: datetime | None = None,
) -> CaseView:
    """Settle an on-the-spot matter at the window."""
    case = await _case(uow, principal, case_id)
    calendar = await reference.calendar(uow.session)
    case.settle(calendar, outcome, reason, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def delegate(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    agent_id: str,
    at: datetime | None = None,
) -> CaseView:
    """Hand the case to an agent (代办)."""
    case = await _case(uow, principal, case_id)
    case.delegate(agent_id, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def forward(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Forward the case to its department."""
    case = await _case(uow, principal, case_id)
    case.forward(actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def record_hop(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    hop: HopKind,
    at: datetime | None = None,
) -> CaseView:
    """Record the department's receipt or the result carried back."""
    case = await _case(uow, principal, case_id)
    case.record_hop(hop, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def decide(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    outcome: Outcome,
    reason: str | None = None,
    amount_fen: int | None = None,
    at: datetime | None = None,
) -> CaseView:
    """The department's decision (for a matter that pays, an approval states its amount)."""
    case = await _case(uow, principal, case_id)
    calendar = await reference.calendar(uow.session)
    case.decide(
        calendar, outcome, reason, actor_id=principal.subject, at=at or now(), amount_fen=amount_fen
    )
    return await _save(uow, case)


async def close(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Close a settled or decided case."""
    case = await _case(uow, principal, case_id)
    case.close(actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def withdraw(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """The applicant withdraws an open case."""
    case = await _case(uow, principal, case_id)
    case.withdraw(await reference.calendar(uow.session), actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def reopen(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Reopen a closed case (once, within 15 days)."""
    case = await _case(uow, principal, case_id)
    case.reopen(await reference.calendar(uow.session), actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def suspend(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Stop the clock while waiting for the applicant."""
    case = await _case(uow, principal, case_id)
    case.suspend(await reference.calendar(uow.session), actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def resume(
    uow: UnitOfWork, *, principal: Principal, case_id: str, at: datetime | None = None
) -> CaseView:
    """Run the clock again."""
    case = await _case(uow, principal, case_id)
    case.resume(await reference.calendar(uow.session), actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def extend(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    days: int,
    reason: str,
    at: datetime | None = None,
) -> CaseView:
    """Extend the time limit by ``days`` working days, with a reason."""
    case = await _case(uow, principal, case_id)
    calendar = await reference.calendar(uow.session)
    case.extend(calendar, days, reason, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def rate(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    rating: int,
    comment: str | None = None,
    at: datetime | None = None,
) -> CaseView:
    """Record the applicant's rating of a closed case (taken at the window)."""
    case = await _case(uow, principal, case_id)
    case.rate(rating, comment, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def hold_session(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    held_on: date,
    mediator_id: str,
    at: datetime | None = None,
) -> CaseView:
    """Record a mediation session."""
    case = await _case(uow, principal, case_id)
    case.hold_session(held_on, mediator_id, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def conclude_mediation(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    agreement: bool,
    terms: str | None = None,
    at: datetime | None = None,
) -> CaseView:
    """A mediation's outcome (the case is decided; follow-up due in 30 days)."""
    case = await _case(uow, principal, case_id)
    case.conclude_mediation(
        await reference.calendar(uow.session),
        agreement=agreement,
        terms=terms,
        actor_id=principal.subject,
        at=at or now(),
    )
    return await _save(uow, case)


async def record_follow_up(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    visited_on: date,
    at: datetime | None = None,
) -> CaseView:
    """The follow-up visit after a mediation."""
    case = await _case(uow, principal, case_id)
    case.record_follow_up(visited_on, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def link(
    uow: UnitOfWork,
    *,
    principal: Principal,
    case_id: str,
    case_ids: Sequence[str],
    at: datetime | None = None,
) -> CaseView:
    """Link a petition to related cases (in the caller's area)."""
    case = await _case(uow, principal, case_id)
    for related in case_ids:
        found = await store.get(uow.session, related)
        if found is None or not principal.may_access(found.path):
            raise InvalidInput(
                f"no case {related}", errors=[FieldError("case_ids", f"no case {related}")]
            )
    case.link(case_ids, actor_id=principal.subject, at=at or now())
    return await _save(uow, case)


async def sweep_deadlines(uow: UnitOfWork, *, today: date, due_soon_days: int) -> int:
    """The periodic sweep over every running case: due soon, overdue, escalation (each once);
    how many cases changed."""
    calendar = await reference.calendar(uow.session)
    changed = 0
    for case_id in await store.running_ids(uow.session):
        case = await store.get(uow.session, case_id, for_update=True)
        if case is None:
            continue
        uow.track(case)
        if case.check_deadline(calendar, today, due_soon_days=due_soon_days):
            await store.save(uow.session, case, calendar)
            changed += 1
    return changed
