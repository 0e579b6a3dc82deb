"""Inbound events → projections, snapshots and target statuses.

One subscription covers the registry's topics (areas, households, residents, facilities,
workers, organisations, volunteers and their hours) and the service's own ``target.created``
(so a replay restores the targets set through the API). The handler dispatches with ``match``
on the payload; anything else is refused with :class:`shared.consumer.UnexpectedEvent`. The
runtime applies each event once (inbox) in the same transaction as its effects; the handler
wraps that transaction in a :class:`~shared.unit_of_work.UnitOfWork`, so the target status
changes an event causes reach the outbox in it too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import targets_service
from metrics.adapters import events
from metrics.adapters.tables import ProjectionState
from metrics.projection import Effects, Projector
from metrics.tracking import Tracker
from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
from shared.contracts.metrics import TargetCreated
from shared.contracts.registry import (
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
from shared.unit_of_work import EventTranslator, UnitOfWork

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
)
"""Every payload type the metrics service consumes."""


async def apply(
    session: AsyncSession,
    event: CloudEvent,
    payload: EventPayload,
    *,
    projector: Projector,
    tracker: Tracker,
    translate: EventTranslator = events.translate,
) -> Effects:
    """Apply one event to the projections, snapshots and target statuses in the session's
    transaction (owned by the caller), with the outbox rows of the status changes it causes."""
    uow = UnitOfWork(session, translate=translate)
    effects = Effects()
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
        case TargetCreated():
            if await targets_service.restore_target(
                session, payload, catalogue=projector.catalogue
            ):
                effects.created_targets.add(payload.target_id)
        case _:
            raise UnexpectedEvent(event.type)
    await projector.flush(session, effects)
    await tracker.after_event(uow, effects)
    await _advance(session, event)
    await uow.publish_collected()
    return effects


async def _advance(session: AsyncSession, event: CloudEvent) -> None:
    """Count the event in the projection state the dashboard polls."""
    state = await session.scalar(select(ProjectionState).with_for_update())
    if state is None:
        state = ProjectionState(id=1, revision=0, events_applied=0)
        session.add(state)
    state.revision += 1
    state.events_applied += 1
    if state.last_event_time is None or event.time > as_utc(state.last_event_time):
        state.last_event_time = event.time


def subscription(
    projector: Projector, tracker: Tracker, *, translate: EventTranslator = events.translate
) -> Subscription:
    """The metrics service's subscription, bound to its projector, tracker and translator."""

    async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
        await apply(
            session, event, payload, projector=projector, tracker=tracker, translate=translate
        )

    return Subscription(
        event_types=frozenset(CONTRACTS.for_payload(p).type for p in HANDLED), handle=handle
    )
