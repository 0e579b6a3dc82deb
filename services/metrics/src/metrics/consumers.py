"""Inbound events → projections. Dispatch with ``match``; anything unexpected is refused."""

from __future__ import annotations

from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
from shared.contracts.registry import AreaCreated
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters.tables import AreaProjection


async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
    """Apply one event to the projections (the runtime de-duplicates by event id)."""
    match payload:
        case AreaCreated():
            await session.merge(
                AreaProjection(
                    area_id=payload.area_id,
                    level=payload.level,
                    name=payload.name,
                    path="/" + "/".join(payload.path) + "/",
                )
            )
        case _:
            raise UnexpectedEvent(event.type)


SUBSCRIPTION = Subscription(
    event_types=frozenset({CONTRACTS.for_payload(AreaCreated).type}),
    handle=handle,
)
