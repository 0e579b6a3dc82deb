"""Transactional outbox: an event is stored in the same transaction as the change it reports.

Use cases call :func:`add` with the session of their unit of work; the relay
(:mod:`shared.relay`) publishes what was committed. A rolled-back transaction leaves no event;
a committed one is never lost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.schema import Table

from shared.contracts import CONTRACTS, CloudEvent, ContractRegistry
from shared.contracts.core import EventDocument
from shared.db import insert_records
from shared.tables import OutboxRecord

log = logging.getLogger(__name__)

Along = tuple[Executable, dict[str, Any]]
"""A statement and its parameters run with a command's outbox rows (:func:`add_documents`)."""

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
    along: Along | None = None,
) -> None:
    """:func:`add_many` for events already written as JSON documents
    (:meth:`~shared.contracts.ContractRegistry.new_documents`: what a unit of work writes).

    ``along`` is a statement with its parameters to run in the same transaction (the command
    runner's ``UPDATE`` of its ``Idempotency-Key``): on PostgreSQL, with a command's one event,
    as a common table expression of the INSERT, so both cost one round trip; otherwise before
    the rows. Its bound names must not be column names (they would be taken for the INSERT's).
    """
    if along is not None and (
        len(documents) != 1 or session.get_bind().dialect.name != "postgresql"
    ):
        await (await session.connection()).execute(*along)
        along = None
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
    if along is not None:
        statement, parameters = along
        row = dict(zip(_ALONG_NAMES, records[0], strict=True))
        connection = await session.connection()
        await connection.execute(_insert_along(statement), {**parameters, **row})
    elif len(records) < COPY_FROM_ROWS:
        rows = [dict(zip(_OUTBOX_COLUMNS, record, strict=True)) for record in records]
        connection = await session.connection()  # Core: no ORM bulk-insert machinery
        await connection.execute(_INSERT, rows)
    else:
        table = OutboxRecord.__table__
        await insert_records(session, table, _OUTBOX_COLUMNS, records)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=16)
def _insert_along(statement: Executable) -> Executable:
    """One row's INSERT with ``statement`` as a common table expression, built once."""
    return _INSERT_ONE.add_cte(cast(UpdateBase, statement).cte("along"))


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
_ALONG_NAMES = tuple(f"o_{column}" for column in _OUTBOX_COLUMNS)
_INSERT_ONE = _INSERT.values(
    {column: bindparam(name) for column, name in zip(_OUTBOX_COLUMNS, _ALONG_NAMES, strict=True)}
)
"""One row's INSERT whose bound names are no column's (a statement along it may bind those)."""
