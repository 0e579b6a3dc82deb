"""Inbound events → the elder roster, the areas centres lie in, the volunteers orders may be
assigned to, and the hardship medical subsidies casework approves.

The subscription takes the registry's resident events (registered, updated, moved: a newer
state; died, left: the end; age_reached: an exact age, joining the roster on the birthday),
its area events (created, retired: a centre's path comes from them), volunteer registrations
and casework's ``case.decided`` (an approved
``elder_hardship_medical_subsidy`` is paid through the ledger, once per case).
Each event runs its use case in a :class:`~shared.unit_of_work.UnitOfWork` on the consumer's
transaction, so what it causes (an elder enrolled, care closed at death, a subsidy paid)
reaches the outbox with the inbox row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from eldercare import areas, clock, entitlements, roster
from eldercare.domain.roster import ResidentFacts
from shared.ages import of_milestone, of_state
from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
from shared.contracts.casework import CaseDecided
from shared.contracts.registry import (
    AreaCreated,
    AreaRetired,
    ResidentAgeReached,
    ResidentDied,
    ResidentLeft,
    ResidentMoved,
    ResidentRegistered,
    ResidentState,
    ResidentUpdated,
    VolunteerRegistered,
)
from shared.unit_of_work import EventTranslator, UnitOfWork

HANDLED: tuple[type[EventPayload], ...] = (
    AreaCreated,
    AreaRetired,
    ResidentAgeReached,
    ResidentRegistered,
    ResidentUpdated,
    ResidentMoved,
    ResidentDied,
    ResidentLeft,
    VolunteerRegistered,
    CaseDecided,
)
"""Every payload type the eldercare service consumes."""


def facts_of(payload: ResidentState) -> ResidentFacts:
    """The roster's view of a registry resident state."""
    return ResidentFacts(
        resident_id=payload.resident_id,
        community_id=payload.community_id,
        path=tuple(payload.path),
        sex=payload.sex,
        birth_year=payload.birth_year,
        disabled=payload.disabled,
        flags=frozenset(payload.flags),
        version=payload.version,
        known_age=of_state(payload),
    )


async def apply(uow: UnitOfWork, payload: EventPayload, *, today: date, threshold: int) -> None:
    """Apply one inbound event in the unit of work."""
    match payload:
        case ResidentDied():
            await roster.resident_changed(
                uow,
                facts=facts_of(payload),
                change="died",
                today=today,
                threshold=threshold,
                ended_on=payload.died_on,
            )
        case ResidentLeft():
            await roster.resident_changed(
                uow,
                facts=facts_of(payload),
                change="left",
                today=today,
                threshold=threshold,
                ended_on=payload.left_on,
            )
        case ResidentRegistered() | ResidentUpdated() | ResidentMoved():
            await roster.resident_changed(
                uow, facts=facts_of(payload), change="state", today=today, threshold=threshold
            )
        case ResidentAgeReached():
            await roster.age_reached(
                uow,
                resident_id=payload.resident_id,
                known=of_milestone(payload),
                today=today,
                threshold=threshold,
            )
        case AreaCreated() | AreaRetired():
            await areas.apply_area(uow, payload=payload)
        case VolunteerRegistered():
            await roster.volunteer_registered(
                uow,
                volunteer_id=payload.volunteer_id,
                community_id=payload.community_id,
                path=tuple(payload.path),
            )
        case CaseDecided():
            await entitlements.pay_hardship_subsidy(
                uow,
                case_id=payload.case_id,
                matter_code=payload.matter_code,
                outcome=payload.outcome,
                resident_id=payload.resident_id,
                community_id=payload.community_id,
                path=payload.path,
                amount_fen=payload.amount_fen,
                decided_on=payload.decided_on,
                today=today,
            )
        case _:
            raise UnexpectedEvent(type(payload).__name__)


def subscription(
    *, translate: EventTranslator, threshold: int, today: Callable[[], date] = clock.today
) -> Subscription:
    """What the eldercare service consumes and how it applies it."""

    async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
        uow = UnitOfWork(session, translate=translate)
        await apply(uow, payload, today=today(), threshold=threshold)
        await uow.publish_collected()

    return Subscription(
        event_types=frozenset(CONTRACTS.for_payload(p).type for p in HANDLED), handle=handle
    )
