"""Inbound events → projections, snapshots and target statuses.

One subscription covers the registry's topics (areas, households, residents, facilities,
workers, organisations, volunteers and their hours), eldercare's (the roster and care levels,
placements, entitlements granted, visit outcomes, subsidy payments), casework's (cases closed,
rated, overdue and delegated), employment's (seekers registered, placements, re-employment,
loans disbursed and defaulted) and the service's own
``target.created``
(so a replay restores the targets set through the API). The batch handler gets the new events of
one poll at once (the runtime records them in the inbox in the same transaction), dispatches
each with ``match`` on the payload (anything else is refused with
:class:`shared.consumer.UnexpectedEvent`), writes the ledger once and re-evaluates each
touched snapshot and target once per batch. It wraps the transaction in a
:class:`~shared.unit_of_work.UnitOfWork`, so the target status changes the batch causes reach
the outbox in it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import targets_service
from metrics.adapters import events, store
from metrics.adapters.tables import ProjectionState
from metrics.domain.targets import TargetStatusChanged
from metrics.projection import (
    Effects,
    EntityKey,
    Projector,
    case_fact_id,
    employment_fact_key,
    forget,
    prefetch,
    prefetch_areas,
    write_new,
)
from metrics.tracking import Tracker
from shared.consumer import ParsedEvent, Subscription, UnexpectedEvent, event_context
from shared.contracts import CONTRACTS, CloudEvent, EventPayload, casework, eldercare
from shared.contracts import employment as jobs
from shared.contracts.metrics import TargetCreated
from shared.contracts.registry import (
    GRASSROOTS_LEVELS,
    AreaCreated,
    AreaRetired,
    AreasMerged,
    AreaSplit,
    FacilityClosed,
    FacilityOpened,
    FacilityUpdated,
    HouseholdMoved,
    HouseholdRegistered,
    OrganisationRegistered,
    ResidentDied,
    ResidentLeft,
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    ServiceHoursLogged,
    VolunteerRegistered,
    WorkerAppointed,
    WorkerLeft,
)
from shared.db import as_utc
from shared.unit_of_work import DomainEvent, EventTranslator, UnitOfWork

HANDLED: tuple[type[EventPayload], ...] = (
    AreaCreated,
    AreaRetired,
    AreasMerged,
    AreaSplit,
    HouseholdRegistered,
    HouseholdMoved,
    ResidentRegistered,
    ResidentUpdated,
    ResidentMoved,
    ResidentDied,
    ResidentLeft,
    FacilityOpened,
    FacilityUpdated,
    FacilityClosed,
    WorkerAppointed,
    WorkerLeft,
    OrganisationRegistered,
    VolunteerRegistered,
    ServiceHoursLogged,
    TargetCreated,
    eldercare.ElderEnrolled,
    eldercare.ElderUpdated,
    eldercare.ElderDeceased,
    eldercare.ElderLeft,
    eldercare.CareLevelChanged,
    eldercare.PlacementRequested,
    eldercare.PlacementStarted,
    eldercare.PlacementEnded,
    eldercare.EntitlementGranted,
    eldercare.VisitCompleted,
    eldercare.VisitMissed,
    eldercare.SubsidyPaid,
    casework.CaseClosed,
    casework.CaseRated,
    casework.CaseOverdue,
    casework.CaseDelegated,
    jobs.SeekerRegistered,
    jobs.PlacementMade,
    jobs.Reemployed,
    jobs.LoanDisbursed,
    jobs.LoanDefaulted,
)
"""Every payload type the metrics service consumes."""

MAX_BATCH = 2000
"""Records per poll: most of a batch's cost is re-evaluating the targets it touched, once, so
a consumer catching up (an import, a restart) takes bigger polls than the runtime's 500; a
live trickle still comes a few records at a time."""


def entity_key(payload: EventPayload) -> EntityKey | None:
    """The projected entity an event changes (to load the batch's entities at once)."""
    match payload:
        case AreaCreated() | AreaRetired() if payload.level in GRASSROOTS_LEVELS:
            return ("community", payload.area_id)
        case HouseholdRegistered() | HouseholdMoved():
            return ("household", payload.household_id)
        case (
            ResidentRegistered()
            | ResidentUpdated()
            | ResidentMoved()
            | ResidentDied()
            | ResidentLeft()
        ):
            return ("resident", payload.resident_id)
        case FacilityOpened() | FacilityUpdated() | FacilityClosed():
            return ("facility", payload.facility_id)
        case WorkerAppointed() | WorkerLeft():
            return ("worker", payload.worker_id)
        case OrganisationRegistered():
            return ("organisation", payload.organisation_id)
        case VolunteerRegistered():
            return ("volunteer", payload.volunteer_id)
        case ServiceHoursLogged():
            return ("service_hours", payload.entry_id)
        case eldercare.ElderState() | eldercare.CareLevelChanged():
            return ("elder", payload.resident_id)
        case eldercare.PlacementFacts():
            return ("care_placement", payload.placement_id)
        case eldercare.EntitlementGranted():
            return ("entitlement_granted", payload.entitlement_id)
        case eldercare.VisitCompleted() | eldercare.VisitMissed():
            return ("visit_outcome", payload.visit_id)
        case eldercare.SubsidyPaid():
            return ("subsidy_payment", payload.payment_id)
        case casework.CaseClosed():
            return ("case_closed", case_fact_id(payload))
        case casework.CaseRated():
            return ("case_rated", case_fact_id(payload))
        case casework.CaseOverdue():
            return ("case_overdue", case_fact_id(payload))
        case casework.CaseDelegated():
            return ("case_delegated", case_fact_id(payload))
        case jobs.SeekerRegistered() | jobs.PlacementMade() | jobs.Reemployed():
            return employment_fact_key(payload)
        case jobs.LoanDisbursed() | jobs.LoanDefaulted():
            return employment_fact_key(payload)
    return None


async def project(
    session: AsyncSession,
    event: CloudEvent,
    payload: EventPayload,
    effects: Effects,
    *,
    projector: Projector,
) -> None:
    """Apply one event to the entity and area projections; its ledger deltas are collected
    in ``effects`` (written by the caller, who marks what they touch)."""
    day = projector.day_of(event.time)
    match payload:
        case AreaCreated():
            await projector.area_created(session, payload, effects)
        case AreaRetired():
            await projector.area_retired(session, payload, effects)
        case AreasMerged():
            await projector.areas_merged(session, payload)
        case AreaSplit():
            await projector.area_split(session, payload)
        case HouseholdRegistered() | HouseholdMoved():
            await projector.household(session, payload, effects)
        case (
            ResidentRegistered()
            | ResidentUpdated()
            | ResidentMoved()
            | ResidentDied()
            | ResidentLeft()
        ):
            await projector.resident(session, payload, day, effects)
        case FacilityOpened() | FacilityUpdated() | FacilityClosed():
            await projector.facility(session, payload, day, effects)
        case WorkerAppointed() | WorkerLeft():
            await projector.worker(session, payload, effects)
        case OrganisationRegistered():
            await projector.organisation(session, payload, effects)
        case VolunteerRegistered():
            await projector.volunteer(session, payload, effects)
        case ServiceHoursLogged():
            await projector.hours(session, payload, effects)
        case eldercare.ElderState() | eldercare.CareLevelChanged():
            await projector.elder(session, payload, day, effects)
        case eldercare.PlacementFacts():
            await projector.placement(session, payload, day, effects)
        case eldercare.EntitlementGranted():
            await projector.entitlement_granted(session, payload, effects)
        case eldercare.VisitCompleted() | eldercare.VisitMissed():
            await projector.visit(session, payload, day, effects)
        case eldercare.SubsidyPaid():
            await projector.subsidy(session, payload, effects)
        case (
            casework.CaseClosed()
            | casework.CaseRated()
            | casework.CaseOverdue()
            | casework.CaseDelegated()
        ):
            await projector.case_fact(session, payload, day, effects)
        case (
            jobs.SeekerRegistered()
            | jobs.PlacementMade()
            | jobs.Reemployed()
            | jobs.LoanDisbursed()
            | jobs.LoanDefaulted()
        ):
            await projector.employment_fact(session, payload, effects)
        case TargetCreated():
            if await targets_service.restore_target(
                session, payload, catalogue=projector.catalogue
            ):
                effects.created_targets.add(payload.target_id)
        case _:
            raise UnexpectedEvent(event.type)


async def apply_batch(
    session: AsyncSession,
    items: Sequence[ParsedEvent],
    *,
    projector: Projector,
    tracker: Tracker,
    translate: EventTranslator = events.translate,
) -> Effects:
    """Apply new events, in order, in the session's transaction (owned by the caller).

    Each event updates the projections and adds its ledger deltas to the batch's; then the
    ledger is written once, and each touched (indicator, area) snapshot and each affected
    target is re-evaluated once for the whole batch. A status change is published with the
    correlation id of the last event that touched its indicator in its area. A tracker that
    defers its evaluations (a replay) needs neither an event's own effects nor what the batch
    touched: the events add to the batch's deltas directly and nothing is marked.
    """
    if not items:
        return Effects()
    uow = UnitOfWork(session, translate=translate)
    await prefetch(session, [k for item in items if (k := entity_key(item.payload))])
    await prefetch_areas(session, {a for item in items if (a := _area_of(item.payload))})
    batch = Effects()
    causes: dict[tuple[str, str], CloudEvent] = {}
    try:
        if tracker.deferred:
            for item in items:
                await project(session, item.event, item.payload, batch, projector=projector)
        else:
            for item in items:
                effects = Effects()
                await project(session, item.event, item.payload, effects, projector=projector)
                projector.mark(effects)
                batch.absorb(effects)
                for pair in effects.touched:
                    causes[pair] = item.event
                for area in effects.created_areas:
                    causes[("", area)] = item.event
        await write_new(session)
    finally:
        forget(session)
    await store.add_to_ledger(session, batch.deltas)
    await tracker.after_batch(uow, batch)
    await _advance(session, [item.event for item in items])
    await _publish(uow, causes, items[-1].event, translate)
    return batch


async def apply(
    session: AsyncSession,
    event: CloudEvent,
    payload: EventPayload,
    *,
    projector: Projector,
    tracker: Tracker,
    translate: EventTranslator = events.translate,
) -> Effects:
    """Apply one event (a batch of one)."""
    return await apply_batch(
        session,
        [ParsedEvent(event, payload)],
        projector=projector,
        tracker=tracker,
        translate=translate,
    )


def _area_of(payload: EventPayload) -> str | None:
    if isinstance(payload, AreaCreated | AreaRetired):
        return payload.area_id
    return None


async def _publish(
    uow: UnitOfWork,
    causes: Mapping[tuple[str, str], CloudEvent],
    last: CloudEvent,
    translate: EventTranslator,
) -> None:
    """Write the outbox rows of the recorded status changes, each under the correlation of
    the event that caused it."""
    by_cause: dict[str, tuple[CloudEvent, list[DomainEvent]]] = {}
    for recorded in uow.collect_new_events():
        cause = last
        if isinstance(recorded, TargetStatusChanged):
            cause = (
                causes.get((recorded.indicator_id, recorded.area_id))
                or causes.get(("", recorded.area_id))
                or last
            )
        by_cause.setdefault(cause.id, (cause, []))[1].append(recorded)
    for cause, recorded_events in by_cause.values():
        part = UnitOfWork(uow.session, translate=translate)
        part.record(*recorded_events)
        with event_context(cause):
            await part.publish_collected()


async def _advance(session: AsyncSession, applied: Sequence[CloudEvent]) -> None:
    """Count the events in the projection state the dashboard polls."""
    state = await session.scalar(select(ProjectionState).with_for_update())
    if state is None:
        state = ProjectionState(id=1, revision=0, events_applied=0)
        session.add(state)
    state.revision += 1
    state.events_applied += len(applied)
    latest = max(event.time for event in applied)
    if state.last_event_time is None or latest > as_utc(state.last_event_time):
        state.last_event_time = latest


def subscription(
    projector: Projector, tracker: Tracker, *, translate: EventTranslator = events.translate
) -> Subscription:
    """The metrics service's subscription, bound to its projector, tracker and translator."""

    async def handle_batch(session: AsyncSession, items: Sequence[ParsedEvent]) -> None:
        await apply_batch(session, items, projector=projector, tracker=tracker, translate=translate)

    return Subscription(
        event_types=frozenset(CONTRACTS.for_payload(p).type for p in HANDLED),
        handle_batch=handle_batch,
        max_batch=MAX_BATCH,
    )
