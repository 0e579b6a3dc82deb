"""A case at the acceptance centre and its life cycle, as an explicit state machine.

::

    submitted ──accept──▶ accepted ──settle (on-the-spot matters)──▶ settled ──close──▶ closed
        ▲  │                 │  └──delegate (agency, 代办)──▶ delegated ──forward──▶ forwarded
        │  return            └──forward (window hands it over)────────────────────▶ forwarded
        │  ▼                                 forwarded ──decide──▶ decided ──close──▶ closed
    resubmit◀ returned      accepted ──decide (mediation, petition: the centre decides)──▶ decided
    withdraw: from any open state (submitted, returned, accepted, delegated, forwarded)
    reopen: closed ──(once, within 15 days of closure)──▶ accepted

:data:`TRANSITIONS` is the whole machine: every action names the states it may start from and
the state it leads to; anything else is refused with :class:`IllegalTransition` (409
problem+json naming the action, the current state and the states it is allowed from). A
suspended case (waiting for the applicant) takes only ``resume``, ``withdraw``, ``extend`` and
agency hops. An agency case records each hop with who and when, in order: the agent took the
file (``delegate``), delivered it to the department (``forward``), the department's receipt,
and the result carried back; it cannot be decided before the receipt nor closed before the
result is back.

The entity records a domain event per change; the adapters map them to the
``casework.case.*`` integration events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from casework.domain.calendar import WorkingCalendar
from casework.domain.catalogue import Department, Matter, MatterKind
from casework.domain.clock import Clock
from shared.contracts.casework import CaseState, HopKind, Outcome
from shared.errors import Conflict, FieldError, InvalidInput

State = CaseState
STATES: tuple[State, ...] = (
    "submitted",
    "returned",
    "accepted",
    "delegated",
    "forwarded",
    "settled",
    "decided",
    "closed",
    "withdrawn",
)
OPEN_STATES: frozenset[State] = frozenset(
    {"submitted", "returned", "accepted", "delegated", "forwarded"}
)
"""States the applicant may withdraw from."""
IN_PROGRESS: frozenset[State] = frozenset({"accepted", "delegated", "forwarded"})
"""States in which the clock runs (unless suspended)."""

Action = Literal[
    "accept",
    "return",
    "resubmit",
    "settle",
    "delegate",
    "forward",
    "decide",
    "close",
    "withdraw",
    "reopen",
]


@dataclass(frozen=True)
class Transition:
    """An action of the state machine: the states it may start from and where it leads."""

    sources: frozenset[State]
    target: State


TRANSITIONS: Mapping[Action, Transition] = {
    "accept": Transition(frozenset({"submitted"}), "accepted"),
    "return": Transition(frozenset({"submitted"}), "returned"),
    "resubmit": Transition(frozenset({"returned"}), "submitted"),
    "settle": Transition(frozenset({"accepted"}), "settled"),
    "delegate": Transition(frozenset({"accepted"}), "delegated"),
    "forward": Transition(frozenset({"accepted", "delegated"}), "forwarded"),
    "decide": Transition(frozenset({"accepted", "forwarded"}), "decided"),
    "close": Transition(frozenset({"settled", "decided"}), "closed"),
    "withdraw": Transition(OPEN_STATES, "withdrawn"),
    "reopen": Transition(frozenset({"closed"}), "accepted"),
}
"""Every state change a case can make."""

WHILE_SUSPENDED: frozenset[str] = frozenset({"resume", "withdraw", "extend", "hop"})
"""What a suspended case still takes."""

HOP_ORDER: tuple[HopKind, ...] = (
    "taken_by_agent",
    "delivered_to_department",
    "received_by_department",
    "result_carried_back",
)
REOPEN_WITHIN_DAYS = 15
"""Calendar days after closure within which a case may be reopened (once)."""
MEDIATION_FOLLOW_UP_DAYS = 30
"""Calendar days after a mediation's outcome when the follow-up visit is due."""
MAX_EXTENSION_DAYS = 60


class IllegalTransition(Conflict):
    """An action the case's current state does not allow (409)."""

    code = "illegal-transition"
    title = "Illegal transition"


def _refuse(action: str, state: State, allowed: Sequence[str], why: str | None = None) -> None:
    detail = why or (
        f"cannot {action} a case that is {state}; {action} is allowed from "
        + (", ".join(sorted(allowed)) if allowed else "no state")
    )
    raise IllegalTransition(
        detail,
        extra={"action": action, "state": state, "allowed_from": sorted(allowed)},
    )


# -- value objects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One agency hop: which, who (a registry worker or token subject id) and when."""

    kind: HopKind
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One change of the case, for its history."""

    action: str
    from_state: State
    to_state: State
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class Party:
    """A party to a dispute: its role and, when registered, the resident's registry id."""

    role: Literal["applicant", "respondent", "other"]
    resident_id: str | None = None


@dataclass(frozen=True)
class MediationSession:
    """A mediation session held."""

    number: int
    held_on: date
    mediator_id: str


@dataclass(frozen=True)
class Mediation:
    """Parties, sessions and outcome of a dispute case."""

    parties: tuple[Party, ...] = ()
    sessions: tuple[MediationSession, ...] = ()
    outcome: Literal["agreement", "no_agreement"] | None = None
    terms: str | None = None
    concluded_on: date | None = None
    follow_up_on: date | None = None
    followed_up_on: date | None = None


@dataclass(frozen=True)
class MatterTerms:
    """What a case keeps of its matter when it is submitted (later catalogue edits do not
    change it)."""

    code: str
    kind: MatterKind
    department: Department
    on_the_spot: bool
    time_limit_days: int
    required_documents: tuple[str, ...]
    pays: bool = False

    @classmethod
    def of(cls, matter: Matter) -> MatterTerms:
        """The terms of a catalogue matter."""
        return cls(
            code=matter.code,
            kind=matter.kind,
            department=matter.department,
            on_the_spot=matter.on_the_spot,
            time_limit_days=matter.time_limit_days,
            required_documents=tuple(matter.required_documents),
            pays=matter.pays,
        )


@dataclass(frozen=True)
class CaseFacts:
    """What every case event says about its case (ids and derived facts only)."""

    case_id: str
    visit_id: str
    matter_code: str
    department: Department
    community_id: str
    path: tuple[str, ...]
    state: State
    version: int


# -- domain events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSubmitted:
    """An application for one matter was submitted."""

    case: CaseFacts
    on_the_spot: bool
    time_limit_days: int
    missing_documents: tuple[str, ...]


@dataclass(frozen=True)
class CaseAccepted:
    """A complete application was accepted; the clock started."""

    case: CaseFacts
    accepted_on: date
    due_on: date


@dataclass(frozen=True)
class CaseReturned:
    """An application was returned for missing documents."""

    case: CaseFacts
    missing_documents: tuple[str, ...]


@dataclass(frozen=True)
class CaseResubmitted:
    """A returned application was brought back."""

    case: CaseFacts
    missing_documents: tuple[str, ...]


@dataclass(frozen=True)
class CaseSettled:
    """The window settled an on-the-spot matter."""

    case: CaseFacts
    outcome: Outcome
    settled_on: date


@dataclass(frozen=True)
class CaseDelegated:
    """An agent took the case (代办)."""

    case: CaseFacts
    agent_id: str


@dataclass(frozen=True)
class CaseHopRecorded:
    """One agency hop, with who and when."""

    case: CaseFacts
    hop: HopKind
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class CaseForwarded:
    """The case went to its department."""

    case: CaseFacts
    delegated: bool


@dataclass(frozen=True)
class CaseDecided:
    """The department decided; the clock stopped."""

    case: CaseFacts
    outcome: Outcome
    decided_on: date
    within_time_limit: bool
    resident_id: str
    amount_fen: int | None


@dataclass(frozen=True)
class CaseClosed:
    """A settled or decided case was closed."""

    case: CaseFacts
    closed_on: date
    within_time_limit: bool
    working_days_used: int
    time_limit_days: int
    delegated: bool
    reopened: bool


@dataclass(frozen=True)
class CaseWithdrawn:
    """The applicant withdrew an open case."""

    case: CaseFacts
    from_state: State


@dataclass(frozen=True)
class CaseRated:
    """The applicant rated a closed case."""

    case: CaseFacts
    rating: int


@dataclass(frozen=True)
class CaseReopened:
    """A closed case was reopened with a new clock."""

    case: CaseFacts
    reopened_on: date
    due_on: date


@dataclass(frozen=True)
class CaseSuspended:
    """The clock stopped while waiting for the applicant."""

    case: CaseFacts
    remaining_days: int


@dataclass(frozen=True)
class CaseResumed:
    """The clock runs again."""

    case: CaseFacts
    remaining_days: int
    due_on: date


@dataclass(frozen=True)
class CaseExtended:
    """The time limit was extended."""

    case: CaseFacts
    days: int
    time_limit_days: int
    due_on: date | None


@dataclass(frozen=True)
class CaseDueSoon:
    """The sweep found little time left (once)."""

    case: CaseFacts
    due_on: date
    remaining_days: int


@dataclass(frozen=True)
class CaseOverdue:
    """The sweep found the limit passed (once)."""

    case: CaseFacts
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class CaseEscalated:
    """An overdue case went to the street office (once)."""

    case: CaseFacts
    street_id: str
    due_on: date


@dataclass(frozen=True)
class PetitionEscalated:
    """An unanswered petition went to the street office (once)."""

    case: CaseFacts
    street_id: str
    due_on: date
    related_case_ids: tuple[str, ...]


@dataclass(frozen=True)
class MediationSessionHeld:
    """A mediation session was held."""

    case: CaseFacts
    session_number: int
    held_on: date
    parties: int


@dataclass(frozen=True)
class MediationAgreementReached:
    """A dispute ended in an agreement."""

    case: CaseFacts
    agreed_on: date
    follow_up_on: date
    sessions: int


CaseEvent = (
    CaseSubmitted
    | CaseAccepted
    | CaseReturned
    | CaseResubmitted
    | CaseSettled
    | CaseDelegated
    | CaseHopRecorded
    | CaseForwarded
    | CaseDecided
    | CaseClosed
    | CaseWithdrawn
    | CaseRated
    | CaseReopened
    | CaseSuspended
    | CaseResumed
    | CaseExtended
    | CaseDueSoon
    | CaseOverdue
    | CaseEscalated
    | PetitionEscalated
    | MediationSessionHeld
    | MediationAgreementReached
)


# -- the entity ------------------------------------------------------------------------------


@dataclass
class Case:
    """A case: one matter for one resident, from submission to closure."""

    id: str
    number: str
    visit_id: str
    matter: MatterTerms
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    submitted_at: datetime
    state: State = "submitted"
    documents: tuple[str, ...] = ()
    clock: Clock = field(default_factory=lambda: Clock(limit_days=1))
    suspended: bool = False
    agent_id: str | None = None
    hops: tuple[Hop, ...] = ()
    outcome: Outcome | None = None
    reason: str | None = None
    decided_on: date | None = None
    amount_fen: int | None = None
    closed_on: date | None = None
    within_time_limit: bool | None = None
    rating: int | None = None
    comment: str | None = None
    reopen_count: int = 0
    due_soon_raised: bool = False
    overdue_raised: bool = False
    escalated: bool = False
    related_case_ids: tuple[str, ...] = ()
    mediation: Mediation | None = None
    history: tuple[HistoryEntry, ...] = ()
    version: int = 1
    events: list[CaseEvent] = field(default_factory=list)

    # -- reading ------------------------------------------------------------------------

    @property
    def facts(self) -> CaseFacts:
        """What events say about this case."""
        return CaseFacts(
            case_id=self.id,
            visit_id=self.visit_id,
            matter_code=self.matter.code,
            department=self.matter.department,
            community_id=self.community_id,
            path=self.path,
            state=self.state,
            version=self.version,
        )

    @property
    def missing_documents(self) -> tuple[str, ...]:
        """Required documents the applicant has not brought."""
        have = set(self.documents)
        return tuple(code for code in self.matter.required_documents if code not in have)

    @property
    def delegated(self) -> bool:
        """Whether an agent carries the case (代办)."""
        return self.agent_id is not None

    @property
    def street_id(self) -> str:
        """The street office above the case's community (escalations go there)."""
        return self.path[-2] if len(self.path) >= 2 else self.path[-1]

    def hop_done(self, kind: HopKind) -> bool:
        """Whether the hop ``kind`` has been recorded."""
        return any(hop.kind == kind for hop in self.hops)

    # -- submission ---------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        case_id: str,
        number: str,
        visit_id: str,
        matter: Matter,
        resident_id: str,
        community_id: str,
        path: Sequence[str],
        documents: Sequence[str],
        related_case_ids: Sequence[str] = (),
        parties: Sequence[Party] = (),
        at: datetime,
    ) -> Case:
        """A new case in ``submitted`` (``CaseSubmitted``)."""
        if not matter.active:
            raise InvalidInput(
                f"matter {matter.code} takes no new applications",
                errors=[FieldError("matter_code", "this matter takes no new applications")],
            )
        terms = MatterTerms.of(matter)
        _known_documents(terms, documents)
        if related_case_ids and terms.kind != "petition":
            raise InvalidInput(
                "only petitions link related cases",
                errors=[FieldError("related_case_ids", "only a petition links related cases")],
            )
        if parties and terms.kind != "mediation":
            raise InvalidInput(
                "only dispute mediation has parties",
                errors=[FieldError("parties", "only a dispute mediation case has parties")],
            )
        case = cls(
            id=case_id,
            number=number,
            visit_id=visit_id,
            matter=terms,
            resident_id=resident_id,
            community_id=community_id,
            path=tuple(path),
            submitted_at=at,
            documents=tuple(dict.fromkeys(documents)),
            clock=Clock(limit_days=terms.time_limit_days),
            related_case_ids=tuple(dict.fromkeys(related_case_ids)),
            mediation=Mediation(parties=tuple(parties)) if terms.kind == "mediation" else None,
        )
        case.events.append(
            CaseSubmitted(
                case.facts,
                on_the_spot=terms.on_the_spot,
                time_limit_days=terms.time_limit_days,
                missing_documents=case.missing_documents,
            )
        )
        return case

    # -- the state machine ---------------------------------------------------------------

    def _move(self, action: Action, actor_id: str, at: datetime) -> State:
        """Check that ``action`` is allowed now and change state; returns the former one."""
        transition = TRANSITIONS[action]
        if self.state not in transition.sources:
            _refuse(action, self.state, sorted(transition.sources))
        if self.suspended and action not in WHILE_SUSPENDED:
            _refuse(
                action,
                self.state,
                sorted(transition.sources),
                why=f"cannot {action} a suspended case: resume it first",
            )
        former = self.state
        self.state = transition.target
        self.version += 1
        self.history += (HistoryEntry(action, former, self.state, actor_id, at),)
        return former

    def _touch(self, action: str, actor_id: str, at: datetime) -> None:
        """Record a change that keeps the state."""
        self.version += 1
        self.history += (HistoryEntry(action, self.state, self.state, actor_id, at),)

    def accept(self, calendar: WorkingCalendar, *, actor_id: str, at: datetime) -> None:
        """Accept a complete application; the clock starts (``CaseAccepted``)."""
        if self.state == "submitted" and self.missing_documents:
            raise IllegalTransition(
                "cannot accept an application with documents missing: "
                + ", ".join(self.missing_documents)
                + "; return it with the list instead",
                extra={
                    "action": "accept",
                    "state": self.state,
                    "missing_documents": list(self.missing_documents),
                },
            )
        self._move("accept", actor_id, at)
        self.clock = self.clock.start(at.date())
        due = self.clock.due_on(calendar)
        assert due is not None
        self.events.append(CaseAccepted(self.facts, accepted_on=at.date(), due_on=due))

    def return_for_documents(self, missing: Sequence[str], *, actor_id: str, at: datetime) -> None:
        """Return an application with the list of missing documents (``CaseReturned``)."""
        if not missing:
            raise InvalidInput(
                "name the missing documents",
                errors=[FieldError("missing_documents", "at least one document")],
            )
        unknown = [code for code in missing if code not in self.matter.required_documents]
        if unknown:
            raise InvalidInput(
                f"not documents this matter requires: {', '.join(unknown)}",
                errors=[
                    FieldError("missing_documents", f"{code} is not required by this matter")
                    for code in unknown
                ],
            )
        self._move("return", actor_id, at)
        missing_set = set(missing)
        self.documents = tuple(code for code in self.documents if code not in missing_set)
        self.events.append(CaseReturned(self.facts, missing_documents=tuple(missing)))

    def resubmit(self, documents: Sequence[str], *, actor_id: str, at: datetime) -> None:
        """The applicant brings documents again (``CaseResubmitted``)."""
        _known_documents(self.matter, documents)
        self._move("resubmit", actor_id, at)
        self.documents = tuple(dict.fromkeys((*self.documents, *documents)))
        self.events.append(CaseResubmitted(self.facts, missing_documents=self.missing_documents))

    def settle(
        self,
        calendar: WorkingCalendar,
        outcome: Outcome,
        reason: str | None,
        *,
        actor_id: str,
        at: datetime,
    ) -> None:
        """Settle an on-the-spot matter at the window (``CaseSettled``)."""
        if self.state == "accepted" and not self.matter.on_the_spot:
            _refuse(
                "settle",
                self.state,
                ["accepted"],
                why=f"matter {self.matter.code} cannot be settled on the spot: forward it",
            )
        _reason_for(outcome, reason)
        self._move("settle", actor_id, at)
        self._conclude(calendar, outcome, reason, at.date())
        self.events.append(CaseSettled(self.facts, outcome=outcome, settled_on=at.date()))

    def delegate(self, agent_id: str, *, actor_id: str, at: datetime) -> None:
        """Hand the case to an agent (代办): ``CaseDelegated`` and the first hop."""
        self._move("delegate", actor_id, at)
        self.agent_id = agent_id
        self.events.append(CaseDelegated(self.facts, agent_id=agent_id))
        self._hop("taken_by_agent", agent_id, at)

    def forward(self, *, actor_id: str, at: datetime) -> None:
        """Forward the case to its department (``CaseForwarded``; an agent's delivery hop)."""
        self._move("forward", actor_id, at)
        self.events.append(CaseForwarded(self.facts, delegated=self.delegated))
        if self.delegated:
            assert self.agent_id is not None
            self._hop("delivered_to_department", self.agent_id, at)

    def record_hop(self, kind: HopKind, *, actor_id: str, at: datetime) -> None:
        """Record the department's receipt or the result carried back (in order)."""
        if not self.delegated:
            _refuse("hop", self.state, [], why="only a delegated case records agency hops")
        expected = HOP_ORDER[len(self.hops)] if len(self.hops) < len(HOP_ORDER) else None
        if kind != expected:
            _refuse(
                "hop",
                self.state,
                [],
                why=f"hop {kind} is out of order: the next hop is {expected or 'none'}",
            )
        needed: State = "forwarded" if kind == "received_by_department" else "decided"
        if self.state != needed:
            _refuse("hop", self.state, [needed], why=f"hop {kind} needs a {needed} case")
        self._touch("hop", actor_id, at)
        self._hop(kind, actor_id, at)

    def _hop(self, kind: HopKind, actor_id: str, at: datetime) -> None:
        self.hops += (Hop(kind, actor_id, at),)
        self.events.append(CaseHopRecorded(self.facts, hop=kind, actor_id=actor_id, at=at))

    def decide(
        self,
        calendar: WorkingCalendar,
        outcome: Outcome,
        reason: str | None,
        *,
        actor_id: str,
        at: datetime,
        amount_fen: int | None = None,
    ) -> None:
        """The department's decision (``CaseDecided``): approved, or denied with a reason; an
        approval of a matter that pays states its amount in fen."""
        if self.state == "accepted" and self.matter.kind == "service":
            _refuse(
                "decide",
                self.state,
                ["forwarded"],
                why="a department decides a service matter: forward the case first",
            )
        if self.delegated and not self.hop_done("received_by_department"):
            _refuse(
                "decide",
                self.state,
                ["forwarded"],
                why="record the department's receipt of the file before its decision",
            )
        _reason_for(outcome, reason)
        _amount_for(self.matter, outcome, amount_fen)
        self._move("decide", actor_id, at)
        self._conclude(calendar, outcome, reason, at.date())
        self.amount_fen = amount_fen
        assert self.within_time_limit is not None
        self.events.append(
            CaseDecided(
                self.facts,
                outcome=outcome,
                decided_on=at.date(),
                within_time_limit=self.within_time_limit,
                resident_id=self.resident_id,
                amount_fen=amount_fen,
            )
        )

    def _conclude(
        self, calendar: WorkingCalendar, outcome: Outcome, reason: str | None, day: date
    ) -> None:
        self.outcome, self.reason, self.decided_on = outcome, reason, day
        self.clock = self.clock.stop(calendar, day)
        self.within_time_limit = self.clock.used_days <= self.clock.allowed_days

    def close(self, *, actor_id: str, at: datetime) -> None:
        """Close a settled or decided case (``CaseClosed``)."""
        if self.delegated and self.state == "decided" and not self.hop_done("result_carried_back"):
            _refuse(
                "close",
                self.state,
                ["decided", "settled"],
                why="the agent has not carried the result back yet",
            )
        self._move("close", actor_id, at)
        self.closed_on = at.date()
        self.rating = None
        self.comment = None
        assert self.within_time_limit is not None
        self.events.append(
            CaseClosed(
                self.facts,
                closed_on=at.date(),
                within_time_limit=self.within_time_limit,
                working_days_used=self.clock.used_days,
                time_limit_days=self.clock.allowed_days,
                delegated=self.delegated,
                reopened=self.reopen_count > 0,
            )
        )

    def withdraw(self, calendar: WorkingCalendar, *, actor_id: str, at: datetime) -> None:
        """The applicant withdraws an open case (``CaseWithdrawn``)."""
        former = self._move("withdraw", actor_id, at)
        if self.clock.running:
            self.clock = self.clock.stop(calendar, at.date())
        self.suspended = False
        self.events.append(CaseWithdrawn(self.facts, from_state=former))

    def reopen(self, calendar: WorkingCalendar, *, actor_id: str, at: datetime) -> None:
        """Reopen a closed case once, within 15 days of closure; a new clock starts."""
        if self.state == "closed":
            if self.reopen_count >= 1:
                _refuse("reopen", self.state, ["closed"], why="a case is reopened only once")
            assert self.closed_on is not None
            if at.date() > self.closed_on + timedelta(days=REOPEN_WITHIN_DAYS):
                _refuse(
                    "reopen",
                    self.state,
                    ["closed"],
                    why=f"a case is reopened within {REOPEN_WITHIN_DAYS} days of closure "
                    f"(closed on {self.closed_on.isoformat()})",
                )
        self._move("reopen", actor_id, at)
        self.reopen_count += 1
        self.closed_on = self.outcome = self.reason = self.decided_on = self.amount_fen = None
        self.rating, self.comment = (
            None,
            None,
        )  # its rating was published; the next closure is rated anew
        self.within_time_limit = None
        self.due_soon_raised = self.overdue_raised = self.escalated = False
        self.clock = self.clock.start(at.date())
        if self.delegated:
            self.agent_id, self.hops = None, ()
        due = self.clock.due_on(calendar)
        assert due is not None
        self.events.append(CaseReopened(self.facts, reopened_on=at.date(), due_on=due))

    # -- the clock ------------------------------------------------------------------------

    def _require_in_progress(self, action: str) -> None:
        if self.state not in IN_PROGRESS:
            _refuse(action, self.state, sorted(IN_PROGRESS))

    def suspend(self, calendar: WorkingCalendar, *, actor_id: str, at: datetime) -> None:
        """Stop the clock while waiting for the applicant (``CaseSuspended``)."""
        self._require_in_progress("suspend")
        if self.suspended:
            _refuse("suspend", self.state, [], why="the case is suspended already")
        self.clock = self.clock.suspend(calendar, at.date())
        self.suspended = True
        self._touch("suspend", actor_id, at)
        self.events.append(
            CaseSuspended(self.facts, remaining_days=self.clock.remaining(calendar, at.date()))
        )

    def resume(self, calendar: WorkingCalendar, *, actor_id: str, at: datetime) -> None:
        """Run the clock again (``CaseResumed``)."""
        if not self.suspended:
            _refuse("resume", self.state, [], why="the case is not suspended")
        self.clock = self.clock.resume(at.date())
        self.suspended = False
        self._touch("resume", actor_id, at)
        due = self.clock.due_on(calendar)
        assert due is not None
        self.events.append(
            CaseResumed(
                self.facts, remaining_days=self.clock.remaining(calendar, at.date()), due_on=due
            )
        )

    def extend(
        self, calendar: WorkingCalendar, days: int, reason: str, *, actor_id: str, at: datetime
    ) -> None:
        """Allow ``days`` more working days, with a reason (``CaseExtended``)."""
        self._require_in_progress("extend")
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise InvalidInput(
                "extension out of range",
                errors=[FieldError("days", f"between 1 and {MAX_EXTENSION_DAYS} working days")],
            )
        if not reason.strip():
            raise InvalidInput(
                "an extension needs a reason", errors=[FieldError("reason", "empty")]
            )
        self.clock = self.clock.extend(days)
        self.reason = reason
        self._touch("extend", actor_id, at)
        self.events.append(
            CaseExtended(
                self.facts,
                days=days,
                time_limit_days=self.clock.allowed_days,
                due_on=self.clock.due_on(calendar),
            )
        )

    def check_deadline(self, calendar: WorkingCalendar, today: date, *, due_soon_days: int) -> bool:
        """The sweep: raise "due soon" and "overdue" once each, and escalate an overdue case
        to the street office (a petition as ``PetitionEscalated``). Whether anything changed."""
        if self.state not in IN_PROGRESS or not self.clock.running:
            return False
        due = self.clock.due_on(calendar)
        assert due is not None
        remaining = self.clock.remaining(calendar, today)
        changed = False
        if remaining < 0 and not self.overdue_raised:
            self.overdue_raised = True
            self.due_soon_raised = True
            self.version += 1
            self.events.append(CaseOverdue(self.facts, due_on=due, days_overdue=-remaining))
            changed = True
        elif 0 <= remaining <= due_soon_days and not self.due_soon_raised:
            self.due_soon_raised = True
            self.version += 1
            self.events.append(CaseDueSoon(self.facts, due_on=due, remaining_days=remaining))
            changed = True
        if self.overdue_raised and not self.escalated:
            self.escalated = True
            self.version += 1
            if self.matter.kind == "petition":
                self.events.append(
                    PetitionEscalated(
                        self.facts,
                        street_id=self.street_id,
                        due_on=due,
                        related_case_ids=self.related_case_ids,
                    )
                )
            else:
                self.events.append(CaseEscalated(self.facts, street_id=self.street_id, due_on=due))
            changed = True
        return changed

    # -- satisfaction ---------------------------------------------------------------------

    def rate(self, rating: int, comment: str | None, *, actor_id: str, at: datetime) -> None:
        """The applicant's rating at closure, 1–5 (``CaseRated``), once per closure."""
        if self.state != "closed":
            _refuse("rate", self.state, ["closed"])
        if self.rating is not None:
            _refuse("rate", self.state, ["closed"], why="the case has been rated already")
        if not 1 <= rating <= 5:
            raise InvalidInput("rating out of range", errors=[FieldError("rating", "1 to 5")])
        self.rating, self.comment = rating, comment
        self._touch("rate", actor_id, at)
        self.events.append(CaseRated(self.facts, rating=rating))

    # -- mediation ------------------------------------------------------------------------

    def _mediation(self, action: str) -> Mediation:
        if self.mediation is None:
            _refuse(action, self.state, [], why="only a dispute mediation case has mediation")
        assert self.mediation is not None
        return self.mediation

    def hold_session(self, held_on: date, mediator_id: str, *, actor_id: str, at: datetime) -> None:
        """Record a mediation session (``MediationSessionHeld``)."""
        mediation = self._mediation("hold_session")
        self._require_in_progress("hold_session")
        if self.suspended:
            _refuse("hold_session", self.state, [], why="resume the case first")
        if held_on > at.date():
            raise InvalidInput("session in the future", errors=[FieldError("held_on", "future")])
        session = MediationSession(len(mediation.sessions) + 1, held_on, mediator_id)
        self.mediation = replace(mediation, sessions=(*mediation.sessions, session))
        self._touch("hold_session", actor_id, at)
        self.events.append(
            MediationSessionHeld(
                self.facts,
                session_number=session.number,
                held_on=held_on,
                parties=len(mediation.parties),
            )
        )

    def conclude_mediation(
        self,
        calendar: WorkingCalendar,
        *,
        agreement: bool,
        terms: str | None,
        actor_id: str,
        at: datetime,
    ) -> None:
        """The outcome of a mediation: an agreement with its terms (approved) or none (denied);
        a follow-up visit is due 30 days later. The case is then decided."""
        mediation = self._mediation("conclude_mediation")
        if not mediation.sessions:
            _refuse("decide", self.state, [], why="hold a mediation session first")
        if agreement and not (terms and terms.strip()):
            raise InvalidInput(
                "an agreement needs its terms", errors=[FieldError("terms", "empty")]
            )
        day = at.date()
        self.decide(
            calendar,
            "approved" if agreement else "denied",
            None if agreement else "no agreement reached",
            actor_id=actor_id,
            at=at,
        )
        follow_up = day + timedelta(days=MEDIATION_FOLLOW_UP_DAYS)
        self.mediation = replace(
            mediation,
            outcome="agreement" if agreement else "no_agreement",
            terms=terms if agreement else None,
            concluded_on=day,
            follow_up_on=follow_up,
        )
        if agreement:
            self.events.append(
                MediationAgreementReached(
                    self.facts,
                    agreed_on=day,
                    follow_up_on=follow_up,
                    sessions=len(mediation.sessions),
                )
            )

    def record_follow_up(self, visited_on: date, *, actor_id: str, at: datetime) -> None:
        """The follow-up visit after a mediation's outcome."""
        mediation = self._mediation("follow_up")
        if mediation.concluded_on is None:
            _refuse("follow_up", self.state, ["decided", "closed"], why="no outcome yet")
        assert mediation.concluded_on is not None
        if visited_on < mediation.concluded_on or visited_on > at.date():
            raise InvalidInput(
                "visit date out of range",
                errors=[FieldError("visited_on", "between the outcome and today")],
            )
        self.mediation = replace(mediation, followed_up_on=visited_on)
        self._touch("follow_up", actor_id, at)

    # -- petitions ------------------------------------------------------------------------

    def link(self, case_ids: Sequence[str], *, actor_id: str, at: datetime) -> None:
        """Link a petition to related cases."""
        if self.matter.kind != "petition":
            _refuse("link", self.state, [], why="only a petition links related cases")
        if self.id in case_ids:
            raise InvalidInput(
                "a petition cannot link itself", errors=[FieldError("case_ids", "self")]
            )
        self.related_case_ids = tuple(dict.fromkeys((*self.related_case_ids, *case_ids)))
        self._touch("link", actor_id, at)


def _known_documents(terms: MatterTerms, documents: Sequence[str]) -> None:
    unknown = [code for code in documents if code not in terms.required_documents]
    if unknown:
        raise InvalidInput(
            f"not documents of matter {terms.code}: {', '.join(unknown)}",
            errors=[
                FieldError("documents", f"{code} is not a document of this matter")
                for code in unknown
            ],
        )


def _reason_for(outcome: Outcome, reason: str | None) -> None:
    if outcome == "denied" and not (reason and reason.strip()):
        raise InvalidInput("a denial needs its reason", errors=[FieldError("reason", "required")])


def _amount_for(matter: MatterTerms, outcome: Outcome, amount_fen: int | None) -> None:
    """An approval of a matter that pays states its amount; nothing else carries one."""
    if amount_fen is None:
        if matter.pays and outcome == "approved":
            raise InvalidInput(
                f"an approval of {matter.code} states the amount granted",
                errors=[FieldError("amount_fen", "required")],
            )
        return
    if not matter.pays:
        raise InvalidInput(
            f"{matter.code} pays no sum",
            errors=[FieldError("amount_fen", "only a matter that pays a sum takes an amount")],
        )
    if outcome != "approved":
        raise InvalidInput(
            "a denial grants no sum",
            errors=[FieldError("amount_fen", "only an approval takes an amount")],
        )
    if amount_fen < 1:
        raise InvalidInput(
            "the amount is at least 1 fen", errors=[FieldError("amount_fen", "must be >= 1")]
        )


__all__ = [
    "HOP_ORDER",
    "IN_PROGRESS",
    "OPEN_STATES",
    "STATES",
    "TRANSITIONS",
    "Case",
    "CaseEvent",
    "CaseFacts",
    "HistoryEntry",
    "Hop",
    "IllegalTransition",
    "MatterTerms",
    "Mediation",
    "MediationSession",
    "Party",
    "State",
]
