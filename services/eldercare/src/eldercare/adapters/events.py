"""The eldercare service's event translator: every domain event to its integration event
(``shared.contracts.eldercare``) and the id of its aggregate (the partition key).

``eldercare.app`` gives it to the runtime, so every unit of work of the service (commands,
the consumer, jobs, demo data) uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eldercare.domain import assessment, entitlements, placements, roster, visits
from shared.contracts import EventPayload
from shared.contracts import eldercare as contracts
from shared.unit_of_work import IntegrationEvent, Translations, translator


def _elder(elder: roster.ElderSnapshot, age: int) -> dict[str, Any]:
    assert elder.enrolled_on is not None
    return {
        "resident_id": elder.resident_id,
        "community_id": elder.community_id,
        "path": list(elder.path),
        "sex": elder.sex,
        "birth_year": elder.birth_year,
        "age": age,
        "disabled": elder.disabled,
        "living_alone": elder.living_alone,
        "empty_nest": elder.empty_nest,
        "enrolled_on": elder.enrolled_on,
    }


def _entitlement(entitlement: entitlements.EntitlementSnapshot) -> dict[str, Any]:
    return {
        "entitlement_id": entitlement.id,
        "resident_id": entitlement.resident_id,
        "community_id": entitlement.community_id,
        "path": list(entitlement.path),
        "kind": entitlement.kind,
        "age": entitlement.age,
        "due_on": entitlement.due_on,
    }


def _placement(placement: placements.PlacementSnapshot) -> dict[str, Any]:
    return {
        "placement_id": placement.id,
        "resident_id": placement.resident_id,
        "community_id": placement.community_id,
        "path": list(placement.path),
        "kind": placement.kind,
        "centre_id": placement.centre_id,
    }


def _order(order: visits.OrderSnapshot) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "resident_id": order.resident_id,
        "community_id": order.community_id,
        "path": list(order.path),
        "service": order.service,
    }


def _visit(visit: visits.VisitSnapshot) -> dict[str, Any]:
    return {
        **_order(visit.order),
        "visit_id": visit.id,
        "window_start": visit.window_start,
        "window_end": visit.window_end,
    }


def _decided_on(entitlement: entitlements.EntitlementSnapshot) -> Any:
    assert entitlement.decided_on is not None
    return entitlement.decided_on


ROSTER: Translations = {
    roster.ElderEnrolled: lambda e: (
        contracts.ElderEnrolled(**_elder(e.elder, e.age)),
        e.elder.resident_id,
    ),
    roster.ElderUpdated: lambda e: (
        contracts.ElderUpdated(**_elder(e.elder, e.age), changed=list(e.changed)),
        e.elder.resident_id,
    ),
    roster.ElderDeceased: lambda e: (
        contracts.ElderDeceased(**_elder(e.elder, e.age), died_on=e.died_on),
        e.elder.resident_id,
    ),
    roster.ElderLeft: lambda e: (
        contracts.ElderLeft(**_elder(e.elder, e.age), left_on=e.left_on),
        e.elder.resident_id,
    ),
    roster.CareLevelChanged: lambda e: (
        contracts.CareLevelChanged(
            resident_id=e.elder.resident_id,
            community_id=e.elder.community_id,
            path=list(e.elder.path),
            previous_level=e.previous_level,
            care_level=e.elder.care_level,
            assessment_id=e.assessment_id,
            changed_on=e.changed_on,
        ),
        e.elder.resident_id,
    ),
}

ENTITLEMENTS: Translations = {
    entitlements.EntitlementProposed: lambda e: (
        contracts.EntitlementDue(
            **_entitlement(e.entitlement), proposed_on=e.entitlement.proposed_on
        ),
        e.entitlement.id,
    ),
    entitlements.EntitlementGranted: lambda e: (
        contracts.EntitlementGranted(
            **_entitlement(e.entitlement),
            granted_on=_decided_on(e.entitlement),
            monthly_amount_fen=e.entitlement.monthly_amount_fen,
        ),
        e.entitlement.id,
    ),
    entitlements.EntitlementDeclined: lambda e: (
        contracts.EntitlementDeclined(
            **_entitlement(e.entitlement),
            declined_on=_decided_on(e.entitlement),
            reason=e.entitlement.reason or "",
        ),
        e.entitlement.id,
    ),
    entitlements.SubsidyPaid: lambda e: (
        contracts.SubsidyPaid(
            payment_id=e.payment_id,
            resident_id=e.entitlement.resident_id,
            community_id=e.entitlement.community_id,
            path=list(e.entitlement.path),
            kind="longevity_subsidy",
            entitlement_id=e.entitlement.id,
            month=e.month,
            amount_fen=e.amount_fen,
            paid_on=e.paid_on,
        ),
        e.payment_id,
    ),
    entitlements.HardshipSubsidyPaid: lambda e: (
        contracts.SubsidyPaid(
            payment_id=e.payment_id,
            resident_id=e.resident_id,
            community_id=e.community_id,
            path=list(e.path),
            kind="hardship_medical_subsidy",
            case_id=e.case_id,
            month=e.month,
            amount_fen=e.amount_fen,
            paid_on=e.paid_on,
        ),
        e.payment_id,
    ),
}

ASSESSMENTS: Translations = {
    assessment.AssessmentCompleted: lambda e: (
        contracts.AssessmentCompleted(
            assessment_id=e.assessment.id,
            resident_id=e.assessment.resident_id,
            community_id=e.assessment.community_id,
            path=list(e.assessment.path),
            instrument=e.assessment.instrument,
            barthel_score=e.assessment.barthel_score,
            iadl_dependent_count=e.assessment.iadl_dependent_count,
            care_level=e.assessment.care_level,
            assessed_on=e.assessment.assessed_on,
            reassess_on=e.assessment.reassess_on,
        ),
        e.assessment.id,
    ),
}


def _started(event: placements.PlacementStarted) -> IntegrationEvent:
    assert event.placement.started_on is not None
    return (
        contracts.PlacementStarted(
            **_placement(event.placement),
            started_on=event.placement.started_on,
            previous_placement_id=event.previous_id,
        ),
        event.placement.id,
    )


def _ended(event: placements.PlacementEnded) -> IntegrationEvent:
    placement = event.placement
    assert placement.ended_on is not None
    assert placement.end_reason is not None
    return (
        contracts.PlacementEnded(
            **_placement(placement), ended_on=placement.ended_on, reason=placement.end_reason
        ),
        placement.id,
    )


def _position_changed(event: placements.WaitingPositionChanged) -> IntegrationEvent:
    assert event.placement.position is not None
    return (
        contracts.WaitingPositionChanged(
            **_placement(event.placement),
            previous_position=event.previous_position,
            position=event.placement.position,
            waiting_count=event.waiting_count,
        ),
        event.placement.id,
    )


PLACEMENTS: Translations = {
    placements.PlacementRequested: lambda e: (
        contracts.PlacementRequested(
            **_placement(e.placement),
            requested_on=e.placement.requested_on,
            waiting_position=e.placement.position,
        ),
        e.placement.id,
    ),
    placements.PlacementStarted: _started,
    placements.PlacementEnded: _ended,
    placements.WaitingPositionChanged: _position_changed,
}


def _cancelled(event: visits.OrderCancelled) -> IntegrationEvent:
    order = event.order
    assert order.cancelled_on is not None
    assert order.cancel_reason is not None
    return (
        contracts.OrderCancelled(
            **_order(order),
            cancelled_on=order.cancelled_on,
            reason=order.cancel_reason,
            visits_cancelled=event.visits_cancelled,
        ),
        order.id,
    )


def _assigned(event: visits.OrderAssigned) -> IntegrationEvent:
    order = event.order
    assert order.assignee_kind is not None
    assert order.assignee_id is not None
    return (
        contracts.OrderAssigned(
            **_order(order), assignee_kind=order.assignee_kind, assignee_id=order.assignee_id
        ),
        order.id,
    )


def _visit_event(
    build: Callable[[visits.VisitSnapshot], EventPayload],
) -> Callable[[Any], IntegrationEvent]:
    return lambda event: (build(event.visit), event.visit.id)


def _checked_in(visit: visits.VisitSnapshot) -> EventPayload:
    assert visit.checked_in_at is not None
    return contracts.VisitCheckedIn(
        **_visit(visit),
        checked_in_at=visit.checked_in_at,
        late=visit.checked_in_at > visit.window_end,
    )


def _completed(visit: visits.VisitSnapshot) -> EventPayload:
    assert visit.checked_in_at is not None
    assert visit.checked_out_at is not None
    return contracts.VisitCompleted(
        **_visit(visit), checked_in_at=visit.checked_in_at, checked_out_at=visit.checked_out_at
    )


def _missed(visit: visits.VisitSnapshot) -> EventPayload:
    assert visit.missed_at is not None
    return contracts.VisitMissed(**_visit(visit), detected_at=visit.missed_at)


VISITS: Translations = {
    visits.OrderCreated: lambda e: (
        contracts.OrderCreated(**_order(e.order), created_on=e.order.created_on),
        e.order.id,
    ),
    visits.OrderAssigned: _assigned,
    visits.OrderCancelled: _cancelled,
    visits.VisitCheckedIn: _visit_event(_checked_in),
    visits.VisitCompleted: _visit_event(_completed),
    visits.VisitMissed: _visit_event(_missed),
}

translate = translator(ROSTER, ENTITLEMENTS, ASSESSMENTS, PLACEMENTS, VISITS)
"""Maps an eldercare domain event to its integration event; an unknown one is a wiring
error."""

__all__ = ["translate"]
