"""Events published by the casework service: the cases of the community affairs acceptance
centre (一站式受理), their agency hops, time limits, satisfaction, mediation and petitions.

Every event is on the topic ``casework.case.events`` keyed by the case id, so a case's events
arrive in order. Each carries the case's ids and derived facts (matter, department, community
and its area path, state after the change, version); never a name, an id number, an address, a
phone, a comment or a reason text (those stay in the casework database).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.contracts import CONTRACTS, EventPayload

Department = Literal[
    "civil_affairs",
    "labour_social_security",
    "medical_security",
    "health_family_planning",
    "public_security",
    "ageing_committee",
    "disabled_persons_federation",
    "justice",
    "petition_office",
]
CaseState = Literal[
    "submitted",
    "returned",
    "accepted",
    "delegated",
    "forwarded",
    "settled",
    "decided",
    "closed",
    "withdrawn",
]
HopKind = Literal[
    "taken_by_agent", "delivered_to_department", "received_by_department", "result_carried_back"
]
Outcome = Literal["approved", "denied"]

_CASE_EXAMPLE: dict[str, Any] = {
    "case_id": "6f1c2a0e-7d4b-4c1e-9a55-0b8e1f2d3c4a",
    "visit_id": "0d9e8f7a-1b2c-4d3e-8f6a-5b4c3d2e1f00",
    "matter_code": "reemployment_concession_card",
    "department": "labour_social_security",
    "community_id": "140502001001",
    "path": ["1405", "140502", "140502001", "140502001001"],
    "state": "accepted",
    "version": 2,
}


def _example(**fields: Any) -> ConfigDict:
    """A payload class's config with one example: the common case fields plus ``fields``."""
    return ConfigDict(json_schema_extra={"examples": [{**_CASE_EXAMPLE, **fields}]})


class CaseEvent(EventPayload):
    """The facts every case event carries."""

    case_id: str = Field(description="Casework id of the case.")
    visit_id: str = Field(description="The visit (one application) that opened the case.")
    matter_code: str = Field(description="Matter type, a code of the casework catalogue.")
    department: Department = Field(description="Department responsible for the matter.")
    community_id: str = Field(description="Registry id of the applicant's community.")
    path: list[str] = Field(description="Area ids from the city down to the community.")
    state: CaseState = Field(description="State of the case after this event.")
    version: int = Field(description="Version of the case after this event (1, 2, …).")


@CONTRACTS.contract(service="casework", aggregate="case", name="submitted")
class CaseSubmitted(CaseEvent):
    """Emitted when a resident's application for one matter is submitted at the window (one
    visit may submit several)."""

    model_config = _example(
        state="submitted", version=1, on_the_spot=False, time_limit_days=15, missing_documents=[]
    )

    on_the_spot: bool = Field(description="Whether the matter can be settled on the spot.")
    time_limit_days: int = Field(description="The matter's time limit in working days.")
    missing_documents: list[str] = Field(description="Codes of required documents not brought.")


@CONTRACTS.contract(service="casework", aggregate="case", name="accepted")
class CaseAccepted(CaseEvent):
    """Emitted when a complete application is accepted; its clock starts."""

    model_config = _example(accepted_on="2026-11-30", due_on="2026-12-21")

    accepted_on: date = Field(description="Day of acceptance (day 0 of the clock).")
    due_on: date = Field(description="Last working day within the time limit.")


@CONTRACTS.contract(service="casework", aggregate="case", name="returned")
class CaseReturned(CaseEvent):
    """Emitted when an application is returned for missing documents."""

    model_config = _example(state="returned", missing_documents=["photo"])

    missing_documents: list[str] = Field(description="Codes of the documents still needed.")


@CONTRACTS.contract(service="casework", aggregate="case", name="resubmitted")
class CaseResubmitted(CaseEvent):
    """Emitted when a returned application is brought back with documents."""

    model_config = _example(state="submitted", version=3, missing_documents=[])

    missing_documents: list[str] = Field(description="Codes of the documents still missing.")


@CONTRACTS.contract(service="casework", aggregate="case", name="settled")
class CaseSettled(CaseEvent):
    """Emitted when the window settles an on-the-spot matter (approved or denied)."""

    model_config = _example(
        matter_code="unemployment_registration",
        state="settled",
        version=3,
        outcome="approved",
        settled_on="2026-11-30",
    )

    outcome: Outcome = Field(description="Approved or denied.")
    settled_on: date = Field(description="Day of settlement.")


@CONTRACTS.contract(service="casework", aggregate="case", name="delegated")
class CaseDelegated(CaseEvent):
    """Emitted when an accepted case is handed to an agent of the community's agency system
    (代办), who carries it to the department and back."""

    model_config = _example(state="delegated", version=3, agent_id="w-140502001001-03")

    agent_id: str = Field(description="Registry id of the agent (a community worker).")


@CONTRACTS.contract(service="casework", aggregate="case", name="hop_recorded")
class CaseHopRecorded(CaseEvent):
    """Emitted for each hop of an agency case, in order: the agent took the file, delivered it
    to the department, the department's receipt, the result carried back."""

    model_config = _example(
        state="forwarded",
        version=5,
        hop="received_by_department",
        actor_id="clerk-17",
        at="2026-12-02T09:30:00Z",
    )

    hop: HopKind = Field(description="Which hop.")
    actor_id: str = Field(description="Who: the agent's registry id or the recording user's id.")
    at: datetime = Field(description="When the hop happened.")


@CONTRACTS.contract(service="casework", aggregate="case", name="forwarded")
class CaseForwarded(CaseEvent):
    """Emitted when a case is forwarded to its responsible department."""

    model_config = _example(state="forwarded", version=4, delegated=True)

    delegated: bool = Field(description="Whether an agent carried it (agency case).")


@CONTRACTS.contract(service="casework", aggregate="case", name="decided")
class CaseDecided(CaseEvent):
    """Emitted when the department decides a case (approved, or denied with a reason kept in
    casework); its clock stops. For a matter that pays a sum (the catalogue's ``pays``, e.g.
    ``elder_hardship_medical_subsidy``), an approval carries the amount, and eldercare pays it."""

    model_config = _example(
        matter_code="elder_hardship_medical_subsidy",
        department="civil_affairs",
        state="decided",
        version=6,
        outcome="approved",
        decided_on="2026-12-10",
        within_time_limit=True,
        resident_id="9b2f4c1e-3a5d-4e6f-8a7b-1c2d3e4f5a6b",
        amount_fen=150000,
    )

    outcome: Outcome = Field(description="Approved or denied.")
    decided_on: date = Field(description="Day of the decision.")
    within_time_limit: bool = Field(description="Whether it was decided within the time limit.")
    resident_id: str | None = Field(
        default=None,
        description="Registry id of the applicant (an id only; absent from events published "
        "before this field was added).",
    )
    amount_fen: int | None = Field(
        default=None,
        ge=1,
        description="For an approved matter that pays a sum: the amount approved, in fen (1/100 "
        "yuan), exact; null otherwise.",
    )


@CONTRACTS.contract(service="casework", aggregate="case", name="closed")
class CaseClosed(CaseEvent):
    """Emitted when a settled or decided case is closed (for an agency case, after the result
    was carried back)."""

    model_config = _example(
        state="closed",
        version=8,
        closed_on="2026-12-11",
        within_time_limit=True,
        working_days_used=8,
        time_limit_days=15,
        delegated=True,
        reopened=False,
    )

    closed_on: date = Field(description="Day of closure.")
    within_time_limit: bool = Field(description="Settled or decided within the time limit.")
    working_days_used: int = Field(description="Working days the clock counted.")
    time_limit_days: int = Field(description="Time limit including extensions, working days.")
    delegated: bool = Field(description="Whether it was an agency case.")
    reopened: bool = Field(description="Whether it had been reopened.")


@CONTRACTS.contract(service="casework", aggregate="case", name="withdrawn")
class CaseWithdrawn(CaseEvent):
    """Emitted when the applicant withdraws an open case."""

    model_config = _example(state="withdrawn", version=3, from_state="accepted")

    from_state: CaseState = Field(description="State the case was in.")


@CONTRACTS.contract(service="casework", aggregate="case", name="rated")
class CaseRated(CaseEvent):
    """Emitted when the applicant rates a closed case ("whether the masses are satisfied")."""

    model_config = _example(state="closed", version=9, rating=5)

    rating: int = Field(ge=1, le=5, description="Satisfaction, 1 (worst) to 5 (best).")


@CONTRACTS.contract(service="casework", aggregate="case", name="reopened")
class CaseReopened(CaseEvent):
    """Emitted when a closed case is reopened (once, within 15 days of closure); a new clock
    starts."""

    model_config = _example(version=10, reopened_on="2026-12-14", due_on="2027-01-05")

    reopened_on: date = Field(description="Day of reopening.")
    due_on: date = Field(description="Last working day of the new time limit.")


@CONTRACTS.contract(service="casework", aggregate="case", name="suspended")
class CaseSuspended(CaseEvent):
    """Emitted when a case's clock stops while waiting for the applicant."""

    model_config = _example(version=4, remaining_days=9)

    remaining_days: int = Field(description="Working days left when suspended.")


@CONTRACTS.contract(service="casework", aggregate="case", name="resumed")
class CaseResumed(CaseEvent):
    """Emitted when a suspended case's clock runs again."""

    model_config = _example(version=5, remaining_days=9, due_on="2026-12-28")

    remaining_days: int = Field(description="Working days left.")
    due_on: date = Field(description="New last working day within the limit.")


@CONTRACTS.contract(service="casework", aggregate="case", name="extended")
class CaseExtended(CaseEvent):
    """Emitted when a case's time limit is extended (the reason stays in casework)."""

    model_config = _example(version=5, days=5, time_limit_days=20, due_on="2026-12-28")

    days: int = Field(description="Working days added.")
    time_limit_days: int = Field(description="Time limit now, working days.")
    due_on: date | None = Field(description="New last working day; null while suspended.")


@CONTRACTS.contract(service="casework", aggregate="case", name="due_soon")
class CaseDueSoon(CaseEvent):
    """Emitted once when an open case's remaining time falls to the warning threshold."""

    model_config = _example(version=5, due_on="2026-12-21", remaining_days=2)

    due_on: date = Field(description="Last working day within the limit.")
    remaining_days: int = Field(description="Working days left.")


@CONTRACTS.contract(service="casework", aggregate="case", name="overdue")
class CaseOverdue(CaseEvent):
    """Emitted once when an open case passes its time limit."""

    model_config = _example(version=6, due_on="2026-12-21", days_overdue=1)

    due_on: date = Field(description="Last working day that was within the limit.")
    days_overdue: int = Field(description="Working days past the limit when noticed.")


@CONTRACTS.contract(service="casework", aggregate="case", name="escalated")
class CaseEscalated(CaseEvent):
    """Emitted once when an overdue case is escalated to its street office."""

    model_config = _example(version=7, street_id="140502001", due_on="2026-12-21")

    street_id: str = Field(description="Registry id of the street office it goes to.")
    due_on: date = Field(description="The missed last working day.")


@CONTRACTS.contract(service="casework", aggregate="case", name="petition_escalated")
class PetitionEscalated(CaseEvent):
    """Emitted once when a petition is not answered in time and goes to the street office."""

    model_config = _example(
        matter_code="petition",
        department="petition_office",
        version=4,
        street_id="140502001",
        due_on="2026-12-21",
        related_case_ids=["6f1c2a0e-7d4b-4c1e-9a55-0b8e1f2d3c4b"],
    )

    street_id: str = Field(description="Registry id of the street office it goes to.")
    due_on: date = Field(description="The missed last working day.")
    related_case_ids: list[str] = Field(description="Cases the petition is about.")


@CONTRACTS.contract(service="casework", aggregate="case", name="mediation_session_held")
class MediationSessionHeld(CaseEvent):
    """Emitted when a mediation session of a dispute case is held."""

    model_config = _example(
        matter_code="dispute_mediation",
        department="justice",
        version=3,
        session_number=1,
        held_on="2026-12-01",
        parties=2,
    )

    session_number: int = Field(description="1 for the first session, then 2, …")
    held_on: date = Field(description="Day of the session.")
    parties: int = Field(description="Number of parties to the dispute.")


@CONTRACTS.contract(service="casework", aggregate="case", name="mediation_agreement_reached")
class MediationAgreementReached(CaseEvent):
    """Emitted when a dispute ends in an agreement (its terms stay in casework); a follow-up
    visit is due 30 days later."""

    model_config = _example(
        matter_code="dispute_mediation",
        department="justice",
        state="decided",
        version=5,
        agreed_on="2026-12-05",
        follow_up_on="2027-01-04",
        sessions=2,
    )

    agreed_on: date = Field(description="Day of the agreement.")
    follow_up_on: date = Field(description="Day the follow-up visit is due.")
    sessions: int = Field(description="Sessions it took.")


__all__ = [
    "CaseAccepted",
    "CaseClosed",
    "CaseDecided",
    "CaseDelegated",
    "CaseDueSoon",
    "CaseEscalated",
    "CaseEvent",
    "CaseExtended",
    "CaseForwarded",
    "CaseHopRecorded",
    "CaseOverdue",
    "CaseRated",
    "CaseReopened",
    "CaseResubmitted",
    "CaseResumed",
    "CaseReturned",
    "CaseSettled",
    "CaseState",
    "CaseSubmitted",
    "CaseSuspended",
    "CaseWithdrawn",
    "Department",
    "HopKind",
    "MediationAgreementReached",
    "MediationSessionHeld",
    "Outcome",
    "PetitionEscalated",
]
