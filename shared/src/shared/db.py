"""Async SQLAlchemy engines and sessions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Table

PING_AFTER_IDLE_S = 10.0
"""A pooled PostgreSQL connection idle longer than this is pinged at checkout (see
:func:`check_at_checkout`)."""
_CHECKED_IN_AT = "shequ_checked_in_at"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the platform's constraint naming convention (stable migration names)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base for the platform tables (outbox, inbox, relay lease).

    Each service declares its own tables on its own base built from :func:`new_metadata`
    and includes these with :func:`platform_tables`.
    """

    metadata = new_metadata()


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pooled: bool = True,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
) -> AsyncEngine:
    """Create an async engine; for SQLite, create the file's folder, enable WAL and FKs.

    ``pooled=False`` opens a connection per use (migrations, one-off commands). A pooled
    PostgreSQL connection is checked at checkout (:func:`check_at_checkout`), not pinged on
    every checkout: a ping costs three round trips (``BEGIN``, ``;``, ``ROLLBACK``).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if not pooled:
        kwargs["poolclass"] = NullPool
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif pooled:
        kwargs.update(pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    elif pooled:
        check_at_checkout(engine, ping_after_idle_s)
    return engine


def check_at_checkout(engine: AsyncEngine, ping_after_idle_s: float) -> None:
    """Hand out no pooled connection known to be dead, without a round trip on a busy one.

    At checkout a connection the server has closed (a restart or failover terminates every
    backend, and the driver sees the socket close while the connection idles) is discarded
    without a word to the server, and one idle in the pool longer than ``ping_after_idle_s``
    is pinged (a server gone without closing the socket, a firewall's idle timeout). Either
    way, as ``pool_pre_ping`` did, the pool discards every connection older than that one and
    hands out a fresh connection. A connection found dead mid-statement also makes the pool
    discard every older one (SQLAlchemy's disconnect handling), so a restart costs at most
    the statements running through it.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        is_closed = getattr(driver, "is_closed", None)
        if is_closed is not None and is_closed():
            raise exc.InvalidatePoolError("the server closed this pooled connection")
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= ping_after_idle_s:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception:  # whatever the driver says, this connection is not to be trusted
            alive = False
        if not alive:
            raise exc.InvalidatePoolError("pooled connection died while idle")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE below takes the write lock
        # at the start of every transaction: SQLite then serialises writers instead of failing
        # one of them with "database is locked" when both try to upgrade a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after commit)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception."""
    async with sessions() as session, session.begin():
        yield session


def dialect_insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The session's dialect's INSERT (SQLite or PostgreSQL), which has ``on_conflict_do_…``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no ON CONFLICT insert for dialect {dialect!r}")


def insert_ignoring_conflicts(session: AsyncSession, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (SQLite or PostgreSQL)."""
    return dialect_insert(session, table).on_conflict_do_nothing()


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite hands back naive ones for
    ``DateTime(timezone=True)`` columns, and everything the platform stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_OUTAGE_SQLSTATES = ("08", "57P")
"""SQLSTATE classes of a database that is unreachable or going away: connection exceptions
and operator intervention (shutting down, starting up, terminated by a restart)."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable or restarting, not that a statement
    was wrong: an invalidated, refused or closed connection, a pool timeout, or a SQLSTATE of
    class 08 or 57P, anywhere among the exception's causes, contexts and driver errors (a
    rollback on a dead connection fails in its own way, the outage being its context)."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OperationalError | PoolTimeout | ConnectionError | TimeoutError):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return True
        if type(current).__name__ in _DRIVER_DISCONNECTS or _CLOSED.search(str(current)):
            return True
        if is_broken_connection(current):
            return True
        links = (current.__cause__, current.__context__, getattr(current, "orig", None))
        pending += [link for link in links if isinstance(link, BaseException)]
    return False


def is_broken_connection(exc: BaseException) -> bool:
    """Whether asyncpg refused to use a connection because its protocol is in a state no
    statement can follow (``InternalClientError``: "cannot switch to state …; another operation
    … is in progress"), as a connection dropped in the middle of an operation is left: such a
    connection is discarded, and the request is answered as an outage."""
    return type(exc).__name__ == "InternalClientError" or isinstance(exc, ConnectionError)


_DRIVER_DISCONNECTS = frozenset({"ConnectionDoesNotExistError", "ConnectionFailureError"})
"""asyncpg's errors for a connection that went away mid-statement (no SQLSTATE of their own)."""
_CLOSED = re.compile(r"\bconnection (is|was|has been) closed\b")
"""What asyncpg's ``InterfaceError`` says when used on a connection the server dropped."""


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer ``SELECT 1``."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: ``COPY`` on PostgreSQL (several times
    faster than a multi-row INSERT), a multi-row INSERT elsewhere. Every row must carry a
    value for every column of the table except server-generated ones, under the same keys."""
    if not rows:
        return
    columns = list(rows[0])
    if len(columns) == 1:  # an itemgetter of one key gives the value, not a tuple
        records = [(row[columns[0]],) for row in rows]
    else:
        values = itemgetter(*columns)  # each row's values in the first row's key order
        records = [values(row) for row in rows]
    await insert_records(session, table, columns, records)


async def insert_records(
    session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples (in ``columns``' order) in the session's transaction:
    ``COPY`` of the tuples as they are on PostgreSQL (:func:`copy_records`), a multi-row
    INSERT elsewhere; :func:`bulk_insert` for rows that are dicts already."""
    if not records:
        return
    if session.get_bind().dialect.name == "postgresql":
        await copy_records(session, table.name, columns, records, schema=table.schema)
        return
    await session.execute(
        table.insert(), [dict(zip(columns, record, strict=True)) for record in records]
    )


_T = TypeVar("_T")
_NO_STEP = object()


async def while_awaiting(statement: Awaitable[_T], work: Iterator[object]) -> _T:
    """Await ``statement`` (a COPY, say) in a task of its own and, while it waits on the
    database, do steps of ``work`` (CPU work that needs no database, pausing after each
    step so the statement can send its rows); the steps left when it ends stay in ``work``
    for the caller. An error of the work waits for the statement to end, then is raised."""
    task = asyncio.ensure_future(statement)
    try:
        while not task.done():
            await asyncio.sleep(0)
            if task.done() or next(work, _NO_STEP) is _NO_STEP:
                break
    except BaseException:
        await asyncio.gather(task, return_exceptions=True)
        raise
    return await task


async def copy_records(
    session: AsyncSession,
    table: str,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    *,
    schema: str | None = None,
) -> None:
    """PostgreSQL only: ``COPY`` rows given as tuples (in ``columns``' order) into ``table``
    in the session's transaction, as :func:`bulk_insert` does without building a dict a row."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    try:
        await driver.copy_records_to_table(  # type: ignore[union-attr]
            table, records=records, columns=list(columns), schema_name=schema
        )
    except Exception as exc:
        # COPY goes to asyncpg directly, past SQLAlchemy's translation and invalidation of a
        # dropped connection. A connection the server dropped (a restart) may also be left
        # mid-protocol, so asyncpg answers with a state error naming no outage: either way
        # the connection is discarded, never handed back to the pool, and it is an outage.
        if driver.is_closed() or is_broken_connection(exc):  # type: ignore[union-attr]
            await connection.invalidate(exc)
            raise ConnectionResetError("the database connection broke during COPY") from exc
        raise
