"""The cheap read path (shared.reads): read engine, ReadConnection, ReadSession, json_response."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import reads
from shared.db import create_engine
from shared.reads import ReadDatabase, json_response, read_database
from shared.testing.postgres import terminate_connections

metadata = MetaData()
place = Table(
    "place",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200)),
    Column("opened_on", Date),
    Column("closed_on", Date, nullable=True),
    Column("rooms", Integer),
    Column("public", Boolean),
)
ROWS = [
    {
        "id": f"p{number:03d}",
        "name": f"Place {number} 社区",
        "opened_on": date(2000, 1, 1 + number % 28),
        "closed_on": date(2020, 1, 1) if number % 5 == 0 else None,
        "rooms": number,
        "public": number % 2 == 0,
    }
    for number in range(40)
]


async def _filled(url: str) -> AsyncEngine:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(place.insert(), ROWS)
    return engine


@pytest.fixture
async def pg_engine(fresh_postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await _filled(fresh_postgres_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await _filled(sqlite_url)
    yield engine
    await engine.dispose()


def _open_public_after(after: str) -> Any:
    return (
        select(place)
        .where(place.c.closed_on.is_(None), place.c.public.is_(True), place.c.id > after)
        .order_by(place.c.id)
        .limit(10)
    )


async def _reference(engine: AsyncEngine, statement: Any) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(statement)).mappings()]


def _plan_runs_on_driver(database: ReadDatabase, statement: Any) -> bool:
    plan = database.plans.get(statement._generate_cache_key().key)
    assert plan is not None
    return plan.compiled is not None


async def _same_rows_as_sqlalchemy(engine: AsyncEngine) -> ReadDatabase:
    database = read_database(engine)
    connection = database.connection()
    for after in ("", "p010", "p030", "p999"):
        statement = _open_public_after(after)
        rows = await connection.all(statement)
        assert [
            {column.name: row[column.name] for column in place.columns} for row in rows
        ] == await _reference(engine, statement)
    first = await connection.first(_open_public_after("p010"))
    assert first is not None
    assert first["id"] == first.id == "p012"
    with pytest.raises(AttributeError):
        _ = first.no_such_column
    assert await connection.first(_open_public_after("p999")) is None
    return database


@pytest.mark.integration
async def test_postgres_reads_run_on_the_driver_and_match_sqlalchemy(
    pg_engine: AsyncEngine,
) -> None:
    database = await _same_rows_as_sqlalchemy(pg_engine)
    assert database.engine is not pg_engine
    assert _plan_runs_on_driver(database, _open_public_after(""))


async def test_sqlite_reads_match_sqlalchemy(sqlite_engine: AsyncEngine) -> None:
    database = await _same_rows_as_sqlalchemy(sqlite_engine)
    assert database.engine is not sqlite_engine  # a file: its own autocommit engine


@pytest.mark.integration
async def test_bound_parameters_and_fallbacks_on_postgres(pg_engine: AsyncEngine) -> None:
    database = read_database(pg_engine)
    connection = database.connection()
    prepared = select(place.c.id).where(place.c.rooms >= bindparam("least")).order_by(place.c.id)
    assert [row["id"] for row in await connection.all(prepared, {"least": 38})] == [
        "p038",
        "p039",
    ]
    assert [row["id"] for row in await connection.all(prepared, {"least": 39})] == ["p039"]
    assert _plan_runs_on_driver(database, prepared)
    in_list = select(place.c.id).where(place.c.id.in_(["p001", "p002"])).order_by(place.c.id)
    assert [row["id"] for row in await connection.all(in_list)] == ["p001", "p002"]
    assert not _plan_runs_on_driver(database, in_list)  # SQLAlchemy expands the list
    counted = select(func.count().label("n")).select_from(place)
    assert (await connection.all(counted))[0]["n"] == len(ROWS)


@pytest.mark.integration
async def test_postgres_read_engine_refuses_writes(pg_engine: AsyncEngine) -> None:
    database = read_database(pg_engine)
    async with database.engine.connect() as connection:
        with pytest.raises(DBAPIError, match="read-only"):
            await connection.execute(place.delete())
    async with database.sessions() as session:
        with pytest.raises(DBAPIError, match="read-only"):
            await session.execute(place.delete())
    assert len(await _reference(pg_engine, select(place))) == len(ROWS)


async def test_sqlite_read_engine_refuses_writes(sqlite_engine: AsyncEngine) -> None:
    database = read_database(sqlite_engine)
    async with database.engine.connect() as connection:
        with pytest.raises(OperationalError, match="readonly"):
            await connection.execute(place.delete())
    assert len(await _reference(sqlite_engine, select(place))) == len(ROWS)


@pytest.mark.integration
async def test_postgres_reads_use_no_transaction(pg_engine: AsyncEngine) -> None:
    """``now()`` is the start of the transaction: it moves between two statements only when
    each runs in its own, i.e. no BEGIN wraps them."""
    database = read_database(pg_engine)
    async with database.sessions() as session:
        started = await session.scalar(text("SELECT now()"))
        again = await session.scalar(text("SELECT now()"))
    assert again > started
    async with database.engine.connect() as connection:
        started = await connection.scalar(text("SELECT now()"))
        again = await connection.scalar(text("SELECT now()"))
    assert again > started


@pytest.mark.integration
async def test_a_dead_pooled_connection_is_replaced_without_an_error(
    pg_engine: AsyncEngine, fresh_postgres_url: str
) -> None:
    database = read_database(pg_engine)
    connection = database.connection()
    statement = _open_public_after("")
    expected = await _reference(pg_engine, statement)
    await connection.all(statement)  # the pool now holds a connection
    async with database.sessions() as session:
        await session.execute(statement)
    terminate_connections(fresh_postgres_url)
    assert len(await connection.all(statement)) == len(expected)
    terminate_connections(fresh_postgres_url)
    async with database.sessions() as session:
        assert len((await session.execute(statement)).all()) == len(expected)


@pytest.mark.integration
async def test_connections_are_pinged_only_after_idling(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    primary = create_engine(fresh_postgres_url)
    for idle_s, expect_pings in ((reads.PING_AFTER_IDLE_S, False), (0.0, True)):
        engine = reads.create_read_engine(
            fresh_postgres_url, primary=primary, ping_after_idle_s=idle_s
        )
        real_ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any, real: Any = real_ping) -> bool:
            pings.append(dbapi_connection)
            return bool(real(dbapi_connection))

        monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
        pings.clear()
        for _ in range(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert bool(pings) is expect_pings
        await engine.dispose()
    await primary.dispose()


@pytest.mark.integration
async def test_disposing_the_primary_closes_the_read_pool(fresh_postgres_url: str) -> None:
    primary = create_engine(fresh_postgres_url)
    database = read_database(primary)
    assert read_database(primary) is database
    await database.connection().all(select(text("1 AS one")))
    assert database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    await primary.dispose()
    assert database.engine.pool.checkedin() == 0  # type: ignore[attr-defined]


async def test_in_memory_sqlite_reads_share_the_primary_engine() -> None:
    primary = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert read_database(primary).engine is primary
    finally:
        await primary.dispose()


class _Body(BaseModel):
    name: str
    born: date
    ended: date | None
    tags: list[str]


def test_json_response_renders_what_fastapi_would() -> None:
    body = _Body(name='张 "Li"', born=date(1950, 3, 1), ended=None, tags=["a", "b"])
    ours = json_response(body, status_code=201, headers={"X-Test": "1"})
    theirs = JSONResponse(jsonable_encoder(body), status_code=201)
    assert ours.body == theirs.body
    assert json.loads(bytes(ours.body)) == {
        "name": '张 "Li"',
        "born": "1950-03-01",
        "ended": None,
        "tags": ["a", "b"],
    }
    assert ours.status_code == 201
    assert ours.headers["content-type"] == "application/json"
    assert ours.headers["x-test"] == "1"


@pytest.mark.integration
async def test_a_connection_left_mid_protocol_is_discarded_and_the_read_retried(
    pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL restart once left a pooled read connection mid-protocol: asyncpg then
    refused every statement on it ("another operation is in progress") and each read that drew
    it was a 500. Such a connection is thrown away and the read retried on a fresh one; a
    statement's own error leaves its sound connection in the pool."""
    database = read_database(pg_engine)
    connection = database.connection()
    statement = _open_public_after("")
    expected = await _reference(pg_engine, statement)
    await connection.all(statement)  # the pool now holds one connection
    async with database.engine.connect() as held:
        driver = (await held.get_raw_connection()).driver_connection
        assert driver is not None
        driver_class = type(driver)
    real_fetch = driver_class.fetch
    refused_on: list[object] = []

    async def refuse_once(driver: Any, *args: Any, **kwargs: Any) -> Any:
        if not refused_on:
            refused_on.append(driver)
            raise asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        return await real_fetch(driver, *args, **kwargs)

    monkeypatch.setattr(driver_class, "fetch", refuse_once)
    assert len(await connection.all(statement)) == len(expected)
    async with database.engine.connect() as held:
        assert (await held.get_raw_connection()).driver_connection not in refused_on

    async with database.engine.connect() as held:
        sound = (await held.get_raw_connection()).driver_connection
    with pytest.raises(asyncpg.PostgresError):
        await connection.all(select(place).where(text("no_such_column = 1")))
    async with database.engine.connect() as held:
        assert (await held.get_raw_connection()).driver_connection is sound
