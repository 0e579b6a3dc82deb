"""Inbound events → the resident facts casework keeps (``registry.resident.*``).

Casework checks a matter's conditions (age, registration, employment, disability, flags) and
confines cases to areas with what the registry publishes about residents, never by calling the
registry. A fact is replaced only by a state of the same or a newer version, so a late older
event changes nothing; the known age (from every state's ``age`` and from ``age_reached``
milestones) keeps the best told, in any order (:mod:`shared.ages`); a resident who died or
left stays known with that status (no new case).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casework.adapters import reference
from casework.domain.eligibility import ResidentFacts
from shared.ages import of_milestone, of_state
from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
from shared.contracts.registry import (
    ResidentAgeReached,
    ResidentDied,
    ResidentLeft,
    ResidentMoved,
    ResidentRegistered,
    ResidentState,
    ResidentUpdated,
)

HANDLED: tuple[type[EventPayload], ...] = (
    ResidentAgeReached,
    ResidentRegistered,
    ResidentUpdated,
    ResidentMoved,
    ResidentDied,
    ResidentLeft,
)
"""Every payload type casework consumes."""


def facts_from(payload: ResidentState, status: str) -> ResidentFacts:
    """The facts casework keeps from a resident's published state."""
    return ResidentFacts(
        resident_id=payload.resident_id,
        community_id=payload.community_id,
        path=tuple(payload.path),
        birth_year=payload.birth_year,
        registration=payload.registration,
        employment_status=payload.employment_status,
        disabled=payload.disabled,
        flags=tuple(payload.flags),
        status=status,
        known_age=of_state(payload),
    )


async def apply(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
    """Keep the resident facts of one registry event, in the caller's transaction."""
    match payload:
        case ResidentDied():
            await reference.save_resident(session, facts_from(payload, "died"), payload.version)
        case ResidentLeft():
            await reference.save_resident(session, facts_from(payload, "left"), payload.version)
        case ResidentRegistered() | ResidentUpdated() | ResidentMoved():
            await reference.save_resident(session, facts_from(payload, "active"), payload.version)
        case ResidentAgeReached():
            await reference.save_age(session, payload.resident_id, of_milestone(payload))
        case _:
            raise UnexpectedEvent(event.type)


def subscription() -> Subscription:
    """What casework consumes and how."""
    return Subscription(
        event_types=frozenset(CONTRACTS.for_payload(kind).type for kind in HANDLED),
        handle=apply,
    )
