"""Routes of visits and cases: submit a visit with several matters, read cases, and every step
of a case's life cycle. Thin: each parses, calls one use case, and maps the result. Writes run
through the command runner (one transaction, an ``Idempotency-Key``, the events in the outbox);
an action the case's state does not allow is a 409 ``illegal-transition`` problem naming the
action, the state and the states it is allowed from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from casework import case_queries as queries
from casework import case_service as service
from casework.api.deps import Reader, WriteCommand, after_id
from casework.domain import cases
from casework.views import CaseView, ClockView
from shared.audit import AuditTrail
from shared.contracts.casework import CaseState, Department, HopKind, Outcome
from shared.inputs import Day, LongText, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(tags=["cases"])

Id = Annotated[Text, Field(min_length=1, max_length=64)]
DocumentCodes = Annotated[list[Annotated[Text, Field(max_length=64)]], Field(max_length=20)]
Reason = Annotated[str | None, Field(default=None, max_length=1000)]


# -- bodies ----------------------------------------------------------------------------------


class PartyIn(BaseModel):
    """A party to a dispute."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["applicant", "respondent", "other"]
    resident_id: Id | None = Field(default=None, description="Registry id, when registered.")


class MatterIn(BaseModel):
    """One matter applied for in a visit."""

    model_config = ConfigDict(extra="forbid")

    matter_code: Text = Field(max_length=64, description="A code of the matter catalogue.")
    documents: DocumentCodes = Field(default_factory=list, description="Documents brought.")
    related_case_ids: list[Id] = Field(
        default_factory=list, max_length=20, description="A petition's related cases."
    )
    parties: list[PartyIn] = Field(
        default_factory=list, max_length=20, description="A dispute's parties."
    )


class VisitIn(BaseModel):
    """One visit to the window: a resident applying for one or more matters."""

    model_config = ConfigDict(extra="forbid")

    resident_id: Id = Field(description="Registry id of the applicant.")
    matters: list[MatterIn] = Field(min_length=1, max_length=10)


class ReturnIn(BaseModel):
    """Returning an application."""

    model_config = ConfigDict(extra="forbid")

    missing_documents: DocumentCodes = Field(description="Codes of the documents missing.")


class ResubmitIn(BaseModel):
    """Documents brought back."""

    model_config = ConfigDict(extra="forbid")

    documents: DocumentCodes


class DecisionIn(BaseModel):
    """A decision or a settlement."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    reason: Reason = Field(description="Why (required for a denial).")


class DecideIn(DecisionIn):
    """A department's decision; an approval of a matter that pays states the sum."""

    amount_fen: StrictInt | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Sum approved in fen (1/100 yuan), exact: required when approving a matter "
        "that pays (`pays` in the catalogue, e.g. `elder_hardship_medical_subsidy`), refused "
        "otherwise.",
    )


class DelegateIn(BaseModel):
    """Handing a case to an agent."""

    model_config = ConfigDict(extra="forbid")

    agent_id: Id = Field(description="Registry id of the agent (a community worker).")


class HopIn(BaseModel):
    """An agency hop recorded by hand."""

    model_config = ConfigDict(extra="forbid")

    hop: Literal["received_by_department", "result_carried_back"]


class ExtendIn(BaseModel):
    """Extending the time limit."""

    model_config = ConfigDict(extra="forbid")

    days: StrictInt = Field(ge=1, le=cases.MAX_EXTENSION_DAYS, description="Working days added.")
    reason: LongText = Field(min_length=1, max_length=1000)


class RatingIn(BaseModel):
    """The applicant's satisfaction."""

    model_config = ConfigDict(extra="forbid")

    rating: StrictInt = Field(ge=1, le=5, description="1 (worst) to 5 (best).")
    comment: LongText | None = Field(default=None, max_length=1000)


class SessionIn(BaseModel):
    """A mediation session."""

    model_config = ConfigDict(extra="forbid")

    held_on: Day
    mediator_id: Id = Field(description="Registry id of the mediator.")


class OutcomeIn(BaseModel):
    """A mediation's outcome."""

    model_config = ConfigDict(extra="forbid")

    agreement: StrictBool = Field(description="Whether the parties agreed.")
    terms: LongText | None = Field(
        default=None, max_length=4000, description="The agreement's terms."
    )


class FollowUpIn(BaseModel):
    """The follow-up visit after a mediation."""

    model_config = ConfigDict(extra="forbid")

    visited_on: Day


class LinksIn(BaseModel):
    """Cases a petition is about."""

    model_config = ConfigDict(extra="forbid")

    case_ids: list[Id] = Field(min_length=1, max_length=20)


# -- responses -------------------------------------------------------------------------------


class HopOut(BaseModel):
    """One agency hop."""

    kind: HopKind
    actor_id: str
    at: datetime


class HistoryOut(BaseModel):
    """One change of the case."""

    action: str
    from_state: CaseState
    to_state: CaseState
    actor_id: str
    at: datetime


class ClockOut(BaseModel):
    """The case's clock today, in working days."""

    running: bool
    suspended: bool
    time_limit_days: int = Field(description="Limit including extensions.")
    working_days_used: int
    remaining_days: int | None = Field(description="Null before acceptance; negative: overdue.")
    due_on: date | None = Field(description="Last working day within the limit while running.")
    overdue: bool

    @classmethod
    def of(cls, clock: ClockView) -> ClockOut:
        """The API view of a clock."""
        return cls(
            running=clock.running,
            suspended=clock.suspended,
            time_limit_days=clock.time_limit_days,
            working_days_used=clock.working_days_used,
            remaining_days=clock.remaining_days,
            due_on=clock.due_on,
            overdue=clock.overdue,
        )


class MediationOut(BaseModel):
    """Parties, sessions and outcome of a dispute."""

    parties: list[PartyIn]
    sessions: list[SessionIn]
    outcome: Literal["agreement", "no_agreement"] | None
    terms: str | None
    concluded_on: date | None
    follow_up_on: date | None
    followed_up_on: date | None


class CaseOut(BaseModel):
    """A case as the staff API shows it."""

    id: str
    number: str
    visit_id: str
    matter_code: str
    kind: str
    department: Department
    resident_id: str
    community_id: str
    path: list[str]
    state: CaseState
    documents: list[str]
    missing_documents: list[str]
    agent_id: str | None
    hops: list[HopOut]
    outcome: Outcome | None
    reason: str | None
    decided_on: date | None
    amount_fen: int | None = Field(
        description="Sum approved in fen, for a matter that pays; null otherwise."
    )
    closed_on: date | None
    within_time_limit: bool | None
    clock: ClockOut
    rating: int | None
    comment: str | None
    reopen_count: int
    related_case_ids: list[str]
    mediation: MediationOut | None
    history: list[HistoryOut]
    version: int

    @classmethod
    def of(cls, found: CaseView) -> CaseOut:
        """The API view of a case."""
        case = found.case
        mediation = case.mediation
        return cls(
            id=case.id,
            number=case.number,
            visit_id=case.visit_id,
            matter_code=case.matter.code,
            kind=case.matter.kind,
            department=case.matter.department,
            resident_id=case.resident_id,
            community_id=case.community_id,
            path=list(case.path),
            state=case.state,
            documents=list(case.documents),
            missing_documents=list(case.missing_documents),
            agent_id=case.agent_id,
            hops=[HopOut(kind=h.kind, actor_id=h.actor_id, at=h.at) for h in case.hops],
            outcome=case.outcome,
            reason=case.reason,
            decided_on=case.decided_on,
            amount_fen=case.amount_fen,
            closed_on=case.closed_on,
            within_time_limit=case.within_time_limit,
            clock=ClockOut.of(found.clock),
            rating=case.rating,
            comment=case.comment,
            reopen_count=case.reopen_count,
            related_case_ids=list(case.related_case_ids),
            mediation=None
            if mediation is None
            else MediationOut(
                parties=[
                    PartyIn(role=p.role, resident_id=p.resident_id) for p in mediation.parties
                ],
                sessions=[
                    SessionIn(held_on=s.held_on, mediator_id=s.mediator_id)
                    for s in mediation.sessions
                ],
                outcome=mediation.outcome,
                terms=mediation.terms,
                concluded_on=mediation.concluded_on,
                follow_up_on=mediation.follow_up_on,
                followed_up_on=mediation.followed_up_on,
            ),
            history=[
                HistoryOut(
                    action=e.action,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    actor_id=e.actor_id,
                    at=e.at,
                )
                for e in case.history
            ],
            version=case.version,
        )


class VisitCaseOut(BaseModel):
    """A case of a visit."""

    id: str
    number: str
    matter_code: str
    department: Department
    state: CaseState
    missing_documents: list[str]
    verification_code: str | None = Field(
        description="For tracking without a login: given once, when the visit is submitted."
    )


class VisitOut(BaseModel):
    """A visit and every case it opened."""

    id: str
    resident_id: str
    community_id: str
    submitted_at: datetime
    cases: list[VisitCaseOut]

    @classmethod
    def of(cls, visit: service.Visit) -> VisitOut:
        """The API view of a visit (codes only right after submission)."""
        return cls(
            id=visit.id,
            resident_id=visit.resident_id,
            community_id=visit.community_id,
            submitted_at=visit.submitted_at,
            cases=[
                VisitCaseOut(
                    id=case.id,
                    number=case.number,
                    matter_code=case.matter.code,
                    department=case.matter.department,
                    state=case.state,
                    missing_documents=list(case.missing_documents),
                    verification_code=visit.codes.get(case.id),
                )
                for case in visit.cases
            ],
        )


class CasePage(Page[CaseOut]):
    """One page of cases; pass ``next_cursor`` as ``cursor`` for the next."""


# -- visits ----------------------------------------------------------------------------------


@router.post("/visits", status_code=status.HTTP_201_CREATED, response_model=VisitOut)
async def submit_visit(body: VisitIn, command: WriteCommand) -> JSONResponse:
    """One visit, one case per matter (``case.submitted`` each); every matter's conditions
    are checked against the resident's registry facts (422 naming the matter and why)."""
    return await command.run(
        service.submit_visit,
        VisitOut.of,
        status=status.HTTP_201_CREATED,
        resident_id=body.resident_id,
        matters=[
            service.MatterApplication(
                matter_code=m.matter_code,
                documents=m.documents,
                related_case_ids=m.related_case_ids,
                parties=[cases.Party(p.role, p.resident_id) for p in m.parties],
            )
            for m in body.matters
        ],
    )


@router.get("/visits/{visit_id}", response_model=VisitOut)
async def get_visit(
    visit_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> VisitOut:
    """A visit with all its cases (each read is audited); 404 when missing or outside the
    token's area."""
    visit = await queries.get_visit(session, principal=principal, visit_id=visit_id)
    await trail.read(
        principal, "case", [(case.id, case.path) for case in visit.cases], session=session
    )
    return VisitOut.of(visit)


# -- cases -----------------------------------------------------------------------------------


@router.get("/cases", response_model=CasePage)
async def list_cases(
    session: SessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Annotated[Text | None, Query(max_length=32, description="Only this area.")] = None,
    state: Annotated[CaseState | None, Query(description="Only this state.")] = None,
    department: Annotated[Department | None, Query(description="Only this department.")] = None,
    matter_code: Annotated[Text | None, Query(max_length=64)] = None,
    resident_id: Annotated[Text | None, Query(max_length=64)] = None,
    overdue_on: Annotated[
        Day | None, Query(description="Only running cases due before this day.")
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> CasePage:
    """Cases by id, confined to the token's area, with cursor pagination."""
    rows = await queries.list_cases(
        session,
        principal=principal,
        within=within,
        state=state,
        department=department,
        matter_code=matter_code,
        resident_id=resident_id,
        overdue_on=overdue_on,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda found: [found.case.id])
    await trail.read(
        principal, "case", [(found.case.id, found.case.path) for found in page], session=session
    )
    return CasePage(items=[CaseOut.of(found) for found in page], next_cursor=next_cursor)


@router.get("/cases/{case_id}", response_model=CaseOut)
async def get_case(
    case_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> CaseOut:
    """One case with its hops, history and clock (the read is audited); 404 when missing or
    outside the area."""
    found = await queries.get_case(session, principal=principal, case_id=case_id)
    await trail.read(principal, "case", [(found.case.id, found.case.path)], session=session)
    return CaseOut.of(found)


@router.post("/cases/{case_id}/accept", response_model=CaseOut)
async def accept(case_id: str, command: WriteCommand) -> JSONResponse:
    """Accept a complete application; the clock starts (409 with the missing documents)."""
    return await command.run(service.accept, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/return", response_model=CaseOut)
async def return_case(case_id: str, body: ReturnIn, command: WriteCommand) -> JSONResponse:
    """Return an application with the list of missing documents."""
    return await command.run(
        service.return_case, CaseOut.of, case_id=case_id, missing_documents=body.missing_documents
    )


@router.post("/cases/{case_id}/resubmit", response_model=CaseOut)
async def resubmit(case_id: str, body: ResubmitIn, command: WriteCommand) -> JSONResponse:
    """The applicant brings the missing documents."""
    return await command.run(
        service.resubmit, CaseOut.of, case_id=case_id, documents=body.documents
    )


@router.post("/cases/{case_id}/settle", response_model=CaseOut)
async def settle(case_id: str, body: DecisionIn, command: WriteCommand) -> JSONResponse:
    """Settle an on-the-spot matter at the window."""
    return await command.run(
        service.settle, CaseOut.of, case_id=case_id, outcome=body.outcome, reason=body.reason
    )


@router.post("/cases/{case_id}/delegate", response_model=CaseOut)
async def delegate(case_id: str, body: DelegateIn, command: WriteCommand) -> JSONResponse:
    """Hand the case to an agent (代办); records the hop "taken by agent"."""
    return await command.run(service.delegate, CaseOut.of, case_id=case_id, agent_id=body.agent_id)


@router.post("/cases/{case_id}/forward", response_model=CaseOut)
async def forward(case_id: str, command: WriteCommand) -> JSONResponse:
    """Forward to the department (an agency case records "delivered to department")."""
    return await command.run(service.forward, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/hops", response_model=CaseOut)
async def record_hop(case_id: str, body: HopIn, command: WriteCommand) -> JSONResponse:
    """Record the department's receipt or the result carried back (in order)."""
    return await command.run(service.record_hop, CaseOut.of, case_id=case_id, hop=body.hop)


@router.post("/cases/{case_id}/decide", response_model=CaseOut)
async def decide(case_id: str, body: DecideIn, command: WriteCommand) -> JSONResponse:
    """The department's decision: approved, or denied with a reason; approving a matter that
    pays states the sum (`amount_fen`), which the decided event carries."""
    return await command.run(
        service.decide,
        CaseOut.of,
        case_id=case_id,
        outcome=body.outcome,
        reason=body.reason,
        amount_fen=body.amount_fen,
    )


@router.post("/cases/{case_id}/close", response_model=CaseOut)
async def close(case_id: str, command: WriteCommand) -> JSONResponse:
    """Close a settled or decided case."""
    return await command.run(service.close, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/withdraw", response_model=CaseOut)
async def withdraw(case_id: str, command: WriteCommand) -> JSONResponse:
    """The applicant withdraws an open case."""
    return await command.run(service.withdraw, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/reopen", response_model=CaseOut)
async def reopen(case_id: str, command: WriteCommand) -> JSONResponse:
    """Reopen a closed case (once, within 15 days of closure); a new clock starts."""
    return await command.run(service.reopen, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/suspend", response_model=CaseOut)
async def suspend(case_id: str, command: WriteCommand) -> JSONResponse:
    """Stop the clock while waiting for the applicant."""
    return await command.run(service.suspend, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/resume", response_model=CaseOut)
async def resume(case_id: str, command: WriteCommand) -> JSONResponse:
    """Run the clock again."""
    return await command.run(service.resume, CaseOut.of, case_id=case_id)


@router.post("/cases/{case_id}/extend", response_model=CaseOut)
async def extend(case_id: str, body: ExtendIn, command: WriteCommand) -> JSONResponse:
    """Extend the time limit, with a reason."""
    return await command.run(
        service.extend, CaseOut.of, case_id=case_id, days=body.days, reason=body.reason
    )


@router.post("/cases/{case_id}/rating", response_model=CaseOut)
async def rate(case_id: str, body: RatingIn, command: WriteCommand) -> JSONResponse:
    """The applicant's rating of a closed case, 1–5, once per closure."""
    return await command.run(
        service.rate, CaseOut.of, case_id=case_id, rating=body.rating, comment=body.comment
    )


@router.post("/cases/{case_id}/mediation/sessions", response_model=CaseOut)
async def hold_session(case_id: str, body: SessionIn, command: WriteCommand) -> JSONResponse:
    """Record a mediation session of a dispute case."""
    return await command.run(
        service.hold_session,
        CaseOut.of,
        case_id=case_id,
        held_on=body.held_on,
        mediator_id=body.mediator_id,
    )


@router.post("/cases/{case_id}/mediation/outcome", response_model=CaseOut)
async def conclude_mediation(case_id: str, body: OutcomeIn, command: WriteCommand) -> JSONResponse:
    """A mediation's outcome: agreement with its terms, or none; the case is decided and the
    follow-up visit is due 30 days later."""
    return await command.run(
        service.conclude_mediation,
        CaseOut.of,
        case_id=case_id,
        agreement=body.agreement,
        terms=body.terms,
    )


@router.post("/cases/{case_id}/mediation/follow-up", response_model=CaseOut)
async def record_follow_up(case_id: str, body: FollowUpIn, command: WriteCommand) -> JSONResponse:
    """The follow-up visit after a mediation's outcome."""
    return await command.run(
        service.record_follow_up, CaseOut.of, case_id=case_id, visited_on=body.visited_on
    )


@router.post("/cases/{case_id}/links", response_model=CaseOut)
async def link(case_id: str, body: LinksIn, command: WriteCommand) -> JSONResponse:
    """Link a petition to the cases it is about."""
    return await command.run(service.link, CaseOut.of, case_id=case_id, case_ids=body.case_ids)
