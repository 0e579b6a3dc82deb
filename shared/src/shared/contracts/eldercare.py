"""Events published by the eldercare service: the elder roster, age entitlements and their
payments, assessments and care levels, placements and waiting lists, service orders and visits.

Payloads carry ids, the community path and derived facts (birth year, age, care level, amounts
in integer fen), never a name, id number, address or phone. Every payload class shows an
example in its JSON Schema (``docs/events/``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.contracts import CONTRACTS, EventPayload
from shared.contracts.registry import Sex

EntitlementKind = Literal[
    "preferential_card", "longevity_certificate", "pension_qualification_check", "longevity_subsidy"
]
PlacementKind = Literal["home", "day_care", "institution"]
ServiceKind = Literal[
    "meal_delivery", "cleaning", "bathing", "health_check", "companionship", "day_care"
]
AssigneeKind = Literal["carer", "volunteer"]
PlacementEndReason = Literal["ended", "transferred", "deceased", "left", "withdrawn"]
OrderCancelReason = Literal["cancelled", "deceased", "left"]

PathField = Field(description="Area ids from the city down to the elder's community, inclusive.")

_PATH = ["140500", "140502", "140502001", "140502001001"]
_ELDER: dict[str, Any] = {
    "resident_id": "3f1c2a9e-0d4b-4c55-9a53-1e0f6b7d2c11",
    "community_id": "140502001001",
    "path": _PATH,
    "sex": "female",
    "birth_year": 1961,
    "age": 65,
    "disabled": False,
    "living_alone": True,
    "empty_nest": False,
    "enrolled_on": "2021-01-01",
}


def _example(**fields: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [fields]})


# -- elders --------------------------------------------------------------------------------


class ElderState(EventPayload):
    """The roster state of an elder (no identifiers beyond registry ids)."""

    resident_id: str = Field(description="Registry id of the resident.")
    community_id: str = Field(description="Community of the resident's household.")
    path: list[str] = PathField
    sex: Sex = Field(description="Sex, as the registry publishes it.")
    birth_year: int = Field(description="Year of birth (the registry publishes no day or month).")
    age: int = Field(description="Age in years reached in the year of the event.")
    disabled: bool = Field(description="Holds a disability certificate.")
    living_alone: bool = Field(description="Lives alone (registry flag).")
    empty_nest: bool = Field(description="Empty-nest elder (registry flag).")
    enrolled_on: date = Field(description="Day the resident joined the elder roster.")


@CONTRACTS.contract(service="eldercare", aggregate="elder", name="enrolled")
class ElderEnrolled(ElderState):
    """Emitted when a resident joins the elder roster: registered at or above the age
    threshold, or reaching it (the daily job enrols them on the day)."""

    model_config = _example(**_ELDER)


@CONTRACTS.contract(service="eldercare", aggregate="elder", name="updated")
class ElderUpdated(ElderState):
    """Emitted when an enrolled elder moves or their flags change; ``changed`` names the
    fields."""

    model_config = _example(**_ELDER, changed=["community_id", "path"])

    changed: list[str] = Field(description="Fields that changed.")


@CONTRACTS.contract(service="eldercare", aggregate="elder", name="deceased")
class ElderDeceased(ElderState):
    """Emitted when an enrolled elder's death is recorded; their open care is closed and
    future orders cancelled in the same transaction."""

    model_config = _example(**_ELDER, died_on="2026-03-02")

    died_on: date = Field(description="Date of death.")


@CONTRACTS.contract(service="eldercare", aggregate="elder", name="left")
class ElderLeft(ElderState):
    """Emitted when an enrolled elder leaves the city's register; open care is closed."""

    model_config = _example(**_ELDER, left_on="2026-03-02")

    left_on: date = Field(description="Date of leaving.")


@CONTRACTS.contract(service="eldercare", aggregate="elder", name="care_level_changed")
class CareLevelChanged(EventPayload):
    """Emitted when an assessment gives an elder another care level than before (or the
    first one)."""

    model_config = _example(
        resident_id=_ELDER["resident_id"],
        community_id="140502001001",
        path=_PATH,
        previous_level=None,
        care_level=2,
        assessment_id="a7d0c1e4-5b8f-4a8e-9a0c-2f1e3d4c5b6a",
        changed_on="2026-03-02",
    )

    resident_id: str = Field(description="The elder.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    previous_level: int | None = Field(description="Care level before; null for the first.")
    care_level: int = Field(description="New care level, 0 (capable) to 3 (severe).")
    assessment_id: str = Field(description="The assessment that set it.")
    changed_on: date = Field(description="Day of the assessment.")


# -- entitlements and payments -------------------------------------------------------------


class EntitlementFacts(EventPayload):
    """An age entitlement of one elder."""

    entitlement_id: str = Field(description="Id of the entitlement (one per elder and kind).")
    resident_id: str = Field(description="The elder.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    kind: EntitlementKind = Field(description="Which entitlement.")
    age: int = Field(description="Age at which it falls due.")
    due_on: date = Field(description="Day it fell due.")


_ENTITLEMENT: dict[str, Any] = {
    "entitlement_id": "0b6c3a1f-2e4d-4f5a-8b7c-9d0e1f2a3b4c",
    "resident_id": _ELDER["resident_id"],
    "community_id": "140502001001",
    "path": _PATH,
    "kind": "preferential_card",
    "age": 65,
    "due_on": "2026-01-01",
}


@CONTRACTS.contract(service="eldercare", aggregate="entitlement", name="due")
class EntitlementDue(EntitlementFacts):
    """Emitted once per elder and entitlement when the daily job proposes it (on the day it
    falls due, or on the first run after the service was down)."""

    model_config = _example(**_ENTITLEMENT, proposed_on="2026-01-01")

    proposed_on: date = Field(description="Day the job proposed it.")


@CONTRACTS.contract(service="eldercare", aggregate="entitlement", name="granted")
class EntitlementGranted(EntitlementFacts):
    """Emitted when staff grant a proposed entitlement."""

    model_config = _example(**_ENTITLEMENT, granted_on="2026-01-12", monthly_amount_fen=None)

    granted_on: date = Field(description="Day it was granted.")
    monthly_amount_fen: int | None = Field(
        description="Monthly payment in fen for a subsidy; null for the others."
    )


@CONTRACTS.contract(service="eldercare", aggregate="entitlement", name="declined")
class EntitlementDeclined(EntitlementFacts):
    """Emitted when staff decline a proposed entitlement (e.g. not qualified)."""

    model_config = _example(**_ENTITLEMENT, declined_on="2026-01-12", reason="not_qualified")

    declined_on: date = Field(description="Day it was declined.")
    reason: str = Field(description="Reason code given by staff.")


@CONTRACTS.contract(service="eldercare", aggregate="payment", name="subsidy_paid")
class SubsidyPaid(EventPayload):
    """Emitted once per ledger line: a month of a granted living subsidy paid, or a hardship
    medical subsidy casework approved paid (once per case)."""

    model_config = _example(
        payment_id="c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
        resident_id=_ELDER["resident_id"],
        community_id="140502001001",
        path=_PATH,
        kind="longevity_subsidy",
        entitlement_id=_ENTITLEMENT["entitlement_id"],
        month="2026-02-01",
        amount_fen=10000,
        paid_on="2026-02-01",
    )

    payment_id: str = Field(description="Id of the ledger line.")
    resident_id: str = Field(description="The elder paid.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    kind: Literal["longevity_subsidy", "hardship_medical_subsidy"] = Field(
        description="What was paid."
    )
    entitlement_id: str | None = Field(
        default=None, description="The granted entitlement paid (a living subsidy)."
    )
    case_id: str | None = Field(
        default=None, description="The casework case whose approval was paid (a hardship subsidy)."
    )
    month: date = Field(
        description="First day of the month paid for (of the decision, for a case)."
    )
    amount_fen: int = Field(description="Amount in fen (1/100 yuan), exact.")
    paid_on: date = Field(description="Day the line was written.")


# -- assessments ---------------------------------------------------------------------------


@CONTRACTS.contract(service="eldercare", aggregate="assessment", name="completed")
class AssessmentCompleted(EventPayload):
    """Emitted when an assessment of an elder is recorded and scored."""

    model_config = _example(
        assessment_id="a7d0c1e4-5b8f-4a8e-9a0c-2f1e3d4c5b6a",
        resident_id=_ELDER["resident_id"],
        community_id="140502001001",
        path=_PATH,
        instrument="barthel-iadl-1",
        barthel_score=55,
        iadl_dependent_count=5,
        care_level=2,
        assessed_on="2026-03-02",
        reassess_on="2026-09-02",
    )

    assessment_id: str = Field(description="Id of the assessment.")
    resident_id: str = Field(description="The elder assessed.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    instrument: str = Field(description="Version of the instrument used.")
    barthel_score: int = Field(description="Barthel ADL index, 0 to 100.")
    iadl_dependent_count: int = Field(description="Instrumental activities needing help.")
    care_level: int = Field(description="Care level scored, 0 (capable) to 3 (severe).")
    assessed_on: date = Field(description="Day of the assessment.")
    reassess_on: date = Field(description="Day the next assessment is due.")


# -- placements ----------------------------------------------------------------------------


class PlacementFacts(EventPayload):
    """One placement of an elder."""

    placement_id: str = Field(description="Id of the placement.")
    resident_id: str = Field(description="The elder.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    kind: PlacementKind = Field(description="Home-based, community day care or institution.")
    centre_id: str | None = Field(description="Day-care centre or institution; null at home.")


_PLACEMENT: dict[str, Any] = {
    "placement_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
    "resident_id": _ELDER["resident_id"],
    "community_id": "140502001001",
    "path": _PATH,
    "kind": "day_care",
    "centre_id": "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a",
}


@CONTRACTS.contract(service="eldercare", aggregate="placement", name="requested")
class PlacementRequested(PlacementFacts):
    """Emitted when a placement is requested; ``waiting_position`` is set when the centre is
    full and the elder joins its waiting list."""

    model_config = _example(**_PLACEMENT, requested_on="2026-03-02", waiting_position=3)

    requested_on: date = Field(description="Day of the request.")
    waiting_position: int | None = Field(
        description="Position on the centre's waiting list (1 = next); null when started."
    )


@CONTRACTS.contract(service="eldercare", aggregate="placement", name="started")
class PlacementStarted(PlacementFacts):
    """Emitted when a placement starts (at once, or when a place frees up for the head of
    the waiting list); ``previous_placement_id`` names the placement it replaces."""

    model_config = _example(**_PLACEMENT, started_on="2026-03-02", previous_placement_id=None)

    started_on: date = Field(description="First day of the placement.")
    previous_placement_id: str | None = Field(
        description="The elder's placement this one replaces (a transition), if any."
    )


@CONTRACTS.contract(service="eldercare", aggregate="placement", name="ended")
class PlacementEnded(PlacementFacts):
    """Emitted when a placement ends or a waiting request is withdrawn."""

    model_config = _example(**_PLACEMENT, ended_on="2026-05-31", reason="transferred")

    ended_on: date = Field(description="Last day of the placement.")
    reason: PlacementEndReason = Field(description="Why it ended.")


@CONTRACTS.contract(service="eldercare", aggregate="placement", name="waiting_position_changed")
class WaitingPositionChanged(PlacementFacts):
    """Emitted when a waiting request moves on its centre's waiting list (someone ahead was
    admitted or left, or someone of higher priority joined)."""

    model_config = _example(**_PLACEMENT, previous_position=3, position=2, waiting_count=4)

    previous_position: int = Field(description="Position before.")
    position: int = Field(description="Position now (1 = next).")
    waiting_count: int = Field(description="Length of the centre's waiting list now.")


# -- orders and visits ---------------------------------------------------------------------


class OrderFacts(EventPayload):
    """A service order for an elder."""

    order_id: str = Field(description="Id of the order.")
    resident_id: str = Field(description="The elder served.")
    community_id: str = Field(description="The elder's community.")
    path: list[str] = PathField
    service: ServiceKind = Field(description="Service ordered.")


_ORDER: dict[str, Any] = {
    "order_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "resident_id": _ELDER["resident_id"],
    "community_id": "140502001001",
    "path": _PATH,
    "service": "meal_delivery",
}


@CONTRACTS.contract(service="eldercare", aggregate="order", name="created")
class OrderCreated(OrderFacts):
    """Emitted when a service order is created for an enrolled elder."""

    model_config = _example(**_ORDER, created_on="2026-03-02")

    created_on: date = Field(description="Day it was created.")


@CONTRACTS.contract(service="eldercare", aggregate="order", name="assigned")
class OrderAssigned(OrderFacts):
    """Emitted when an order is assigned (or reassigned) to a carer or a registry
    volunteer."""

    model_config = _example(**_ORDER, assignee_kind="volunteer", assignee_id="v-17")

    assignee_kind: AssigneeKind = Field(description="Carer or volunteer.")
    assignee_id: str = Field(description="Carer's staff id or registry volunteer id.")


@CONTRACTS.contract(service="eldercare", aggregate="order", name="cancelled")
class OrderCancelled(OrderFacts):
    """Emitted when an order is cancelled (by staff, or because the elder died or left);
    its scheduled visits are cancelled with it."""

    model_config = _example(**_ORDER, cancelled_on="2026-03-02", reason="deceased")

    cancelled_on: date = Field(description="Day of cancellation.")
    reason: OrderCancelReason = Field(description="Why.")
    visits_cancelled: int = Field(default=0, description="Scheduled visits cancelled with it.")


class VisitFacts(OrderFacts):
    """A scheduled visit of an order."""

    visit_id: str = Field(description="Id of the visit.")
    window_start: datetime = Field(description="Start of the visit's window (UTC).")
    window_end: datetime = Field(description="End of the window: check in before it.")


_VISIT: dict[str, Any] = {
    **_ORDER,
    "visit_id": "9c0d1e2f-3a4b-4c5d-9e6f-7a8b9c0d1e2f",
    "window_start": "2026-03-02T02:00:00Z",
    "window_end": "2026-03-02T04:00:00Z",
}


@CONTRACTS.contract(service="eldercare", aggregate="visit", name="checked_in")
class VisitCheckedIn(VisitFacts):
    """Emitted when the carer or volunteer checks in at a visit."""

    model_config = _example(**_VISIT, checked_in_at="2026-03-02T02:05:00Z", late=False)

    checked_in_at: datetime = Field(description="Check-in time (UTC).")
    late: bool = Field(description="Checked in after the window ended.")


@CONTRACTS.contract(service="eldercare", aggregate="visit", name="completed")
class VisitCompleted(VisitFacts):
    """Emitted when a visit is checked out (completed)."""

    model_config = _example(
        **_VISIT, checked_in_at="2026-03-02T02:05:00Z", checked_out_at="2026-03-02T03:00:00Z"
    )

    checked_in_at: datetime = Field(description="Check-in time (UTC).")
    checked_out_at: datetime = Field(description="Check-out time (UTC).")


@CONTRACTS.contract(service="eldercare", aggregate="visit", name="missed")
class VisitMissed(VisitFacts):
    """Emitted once when a visit's window ends without a check-in (the missed-visit
    alert)."""

    model_config = _example(**_VISIT, detected_at="2026-03-02T04:01:00Z")

    detected_at: datetime = Field(description="When the miss was detected (UTC).")
