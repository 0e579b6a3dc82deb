"""A minimal producer/consumer domain for testing the event kit against real parts.

Producer side: :func:`record` writes a ``TallyItem`` and its ``TallyRecorded`` event in one
transaction. Consumer side: :func:`handle` writes one ``TallyEffect`` row per applied event,
in arrival order, so tests can count effects (exactly once) and check order per key. A
payload with ``poison=True`` makes the handler fail while :data:`POISON_ENABLED` is set.

``python -m shared.testing.tally relay-victim DATABASE_URL BOOTSTRAP`` runs a relay that
kills itself with SIGKILL after its first batch was acknowledged by the broker and before it
marks the batch published.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field
from sqlalchemy import Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import Principal
from shared.consumer import Subscription, UnexpectedEvent
from shared.contracts import CloudEvent, ContractRegistry, EventPayload
from shared.db import create_engine, new_metadata, session_factory
from shared.errors import FieldError, InvalidInput
from shared.relay import OutboxRelay, OutboxRow
from shared.settings import ServiceSettings
from shared.tables import OutboxRecord, platform_metadata
from shared.unit_of_work import UnitOfWork

TALLY = ContractRegistry()
POISON_ENABLED = {"on": True}


@TALLY.contract(service="tally", aggregate="counter", name="recorded")
class TallyRecorded(EventPayload):
    """Emitted when a tally item is recorded (test domain)."""

    key: str = Field(description="Counter the item belongs to (the aggregate).")
    seq: int = Field(description="Position of the item within its counter.")
    poison: bool = Field(default=False, description="Makes the consumer's handler fail.")


class TallyBase(DeclarativeBase):
    """Tables of the tally test domain."""

    metadata = new_metadata()


class TallyItem(TallyBase):
    """Producer-side state."""

    __tablename__ = "tally_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(50))
    seq: Mapped[int] = mapped_column(Integer)


class TallyEffect(TallyBase):
    """Consumer-side effect: one row per applied event, ``id`` is the arrival order."""

    __tablename__ = "tally_effect"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(50))
    seq: Mapped[int] = mapped_column(Integer)


def settings_for(database_url: str, bootstrap: str, **overrides: object) -> ServiceSettings:
    """Settings of the tally 'service' for tests: fast retries, short lease."""
    values: dict[str, object] = {
        "service_name": "tally",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "relay_lease_ttl_s": 2.0,
        "relay_poll_interval_s": 0.05,
        "relay_max_backoff_s": 1.0,
        "consumer_backoff_s": 0.05,
        "consumer_max_attempts": 3,
        "log_json": False,
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


async def create_schema(engine: AsyncEngine) -> None:
    """Create the platform and tally tables."""
    async with engine.begin() as connection:
        await connection.run_sync(platform_metadata().create_all)
        await connection.run_sync(TallyBase.metadata.create_all)


@dataclass(frozen=True)
class Tallied:
    """Domain event of the tally test domain: an item was counted."""

    key: str
    seq: int
    poison: bool = False


def translate(event: object) -> tuple[EventPayload, str]:
    """The tally domain's event translator (domain event → integration event)."""
    if not isinstance(event, Tallied):
        raise TypeError(f"no integration event for {type(event).__name__}")
    return TallyRecorded(key=event.key, seq=event.seq, poison=event.poison), event.key


async def count(uow: UnitOfWork, *, principal: Principal, key: str, seq: int) -> dict[str, object]:
    """The tally use case on the write pattern: store an item and record its event."""
    if seq < 0:
        raise InvalidInput("seq must not be negative", errors=[FieldError("seq", "negative")])
    uow.session.add(TallyItem(key=key, seq=seq))
    uow.record(Tallied(key=key, seq=seq))
    return {"key": key, "seq": seq, "by": principal.subject}


async def record(session: AsyncSession, *, key: str, seq: int, poison: bool = False) -> None:
    """Store an item and its event in the caller's transaction (a unit of work over it)."""
    uow = UnitOfWork(session, translate=translate, contracts=TALLY)
    session.add(TallyItem(key=key, seq=seq))
    uow.record(Tallied(key=key, seq=seq, poison=poison))
    await uow.publish_collected()


async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
    """The consumer's handler, dispatching on the payload type."""
    match payload:
        case TallyRecorded(poison=True) if POISON_ENABLED["on"]:
            raise ValueError(f"poison item {payload.key}/{payload.seq}")
        case TallyRecorded():
            session.add(TallyEffect(event_id=event.id, key=payload.key, seq=payload.seq))
        case _:
            raise UnexpectedEvent(event.type)


SUBSCRIPTION = Subscription(
    event_types=frozenset({TALLY.for_payload(TallyRecorded).type}), handle=handle
)


async def effects(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    """Every applied effect as ``(event_id, key, seq)`` in arrival order."""
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(TallyEffect.event_id, TallyEffect.key, TallyEffect.seq).order_by(TallyEffect.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def unpublished(engine: AsyncEngine) -> int:
    """How many outbox rows wait for publication."""
    async with session_factory(engine)() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxRecord.published_at.is_(None))
        )
        return int(count or 0)


async def _run_relay_victim(database_url: str, bootstrap: str) -> None:
    async def die(_rows: Sequence[OutboxRow]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    engine = create_engine(database_url)
    relay = OutboxRelay(
        settings=settings_for(database_url, bootstrap),
        sessions=session_factory(engine),
        topics=TALLY.topics(),
        on_sent=die,
    )
    await relay.publish_batch()
    raise SystemExit("relay-victim: the batch was empty, nothing to die for")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "relay-victim":
        raise SystemExit(
            "usage: python -m shared.testing.tally relay-victim DATABASE_URL BOOTSTRAP"
        )
    asyncio.run(_run_relay_victim(sys.argv[2], sys.argv[3]))
