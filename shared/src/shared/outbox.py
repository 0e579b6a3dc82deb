"""Transactional outbox: an event is stored in the same transaction as the change it reports.

Use cases call :func:`add` with the session of their unit of work; the relay
(:mod:`shared.relay`) publishes what was committed. A rolled-back transaction leaves no event;
a committed one is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Table

from shared.contracts import CONTRACTS, CloudEvent, ContractRegistry
from shared.contracts.core import EventDocument
from shared.db import insert_records
from shared.tables import OutboxRecord

log = logging.getLogger(__name__)

COPY_FROM_ROWS = 16
"""From this many events a write uses ``COPY`` (:func:`shared.db.insert_records`); fewer, the
events of one command, go in one INSERT statement: ``COPY`` costs more round trips to the
database than it saves on a handful of rows."""


def add(
    session: AsyncSession, event: CloudEvent, *, contracts: ContractRegistry = CONTRACTS
) -> None:
    """Stage ``event`` for publication in the caller's transaction (nothing is flushed here)."""
    contract = contracts.by_type(event.type)
    contract.payload.model_validate(event.data)  # never store what a consumer would reject
    session.add(
        OutboxRecord(
            event_id=event.id,
            event_type=event.type,
            topic=contract.topic,
            partition_key=event.partitionkey,
            payload=event.to_json_bytes().decode(),
            created_at=datetime.now(UTC),
            attempts=0,
        )
    )
    log.debug(
        "event staged",
        extra={
            "event_id": event.id,
            "event_type": event.type,
            "topic": contract.topic,
            "key": event.partitionkey,
        },
    )


async def add_many(
    session: AsyncSession, events: Sequence[CloudEvent], *, contracts: ContractRegistry = CONTRACTS
) -> None:
    """Write many events in the caller's transaction in one bulk insert, in outbox order.

    For bulk use cases (imports): the events must come from
    :meth:`~shared.contracts.ContractRegistry.new_event`, whose payload model already
    validated the data, so it is not validated a second time here.
    """
    documents = [
        EventDocument(event.id, event.type, event.partitionkey, event.to_json_bytes().decode())
        for event in events
    ]
    await add_documents(session, documents, contracts=contracts)


async def add_documents(
    session: AsyncSession,
    documents: Sequence[EventDocument],
    *,
    contracts: ContractRegistry = CONTRACTS,
) -> None:
    """:func:`add_many` for events already written as JSON documents
    (:meth:`~shared.contracts.ContractRegistry.new_documents`: what a unit of work writes)."""
    if not documents:
        return
    now = datetime.now(UTC)
    topics: dict[str, str] = {}
    records = []
    for document in documents:
        topic = topics.get(document.type)
        if topic is None:
            topic = topics[document.type] = contracts.by_type(document.type).topic
        records.append(
            (document.id, document.type, topic, document.partitionkey, document.json, now, 0)
        )
    if len(records) < COPY_FROM_ROWS:
        rows = [dict(zip(_OUTBOX_COLUMNS, record, strict=True)) for record in records]
        connection = await session.connection()  # Core: no ORM bulk-insert machinery
        await connection.execute(_INSERT, rows)
    else:
        table = OutboxRecord.__table__
        await insert_records(session, table, _OUTBOX_COLUMNS, records)  # type: ignore[arg-type]


_OUTBOX_COLUMNS = (
    "event_id",
    "event_type",
    "topic",
    "partition_key",
    "payload",
    "created_at",
    "attempts",
)
"""The columns :func:`add_documents` writes, in the order of its tuples."""
_INSERT = insert(cast(Table, OutboxRecord.__table__))
"""The INSERT of a command's few events, built once."""
