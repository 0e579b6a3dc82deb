"""Inbound events → the registry's facts the employment service keeps.

The subscription covers the registry's area and resident topics: areas (their paths, for the
distance term of matching and for places of work) and residents (sex, birth year, known age,
employment status, disability, registration and flags, from which priority groups derive; age
milestones move the "4050" group on the birthday). Each event is applied in the consumer's
transaction through a :class:`~shared.unit_of_work.UnitOfWork`, so a seeker that follows their
resident publishes its ``seeker.updated`` or ``seeker.withdrawn`` in the same transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from employment import registry_facts
from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
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
)
"""Every payload type the employment service consumes."""


def subscription(translate: EventTranslator) -> Subscription:
    """The employment service's subscription, publishing through ``translate``."""

    async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
        uow = UnitOfWork(session, translate=translate)
        match payload:
            case AreaCreated() | AreaRetired():
                await registry_facts.apply_area(uow, payload=payload)
            case ResidentState():
                await registry_facts.apply_resident(uow, payload=payload, today=date.today())
            case ResidentAgeReached():
                await registry_facts.apply_age(uow, payload=payload, today=date.today())
            case _:
                raise UnexpectedEvent(event.type)
        await uow.publish_collected()

    types = frozenset(CONTRACTS.for_payload(payload).type for payload in HANDLED)
    return Subscription(event_types=types, handle=handle)
