"""Idempotency-Key and cursor pagination, through a tiny app on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, session_factory
from shared.errors import InvalidInput
from shared.http import create_app
from shared.idempotency import IdempotencyKey, run_idempotent
from shared.pagination import decode_cursor, encode_cursor, page_of
from shared.settings import ServiceSettings
from shared.testing import tally


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(sqlite_url)
    await tally.create_schema(engine)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter()

    @router.post("/items")
    async def add_item(request: Request, key: IdempotencyKey = None) -> JSONResponse:
        body = await request.json()
        async with sessions() as session:

            async def operation() -> tuple[int, object]:
                await tally.record(session, key=str(body["key"]), seq=int(body["seq"]))
                return 201, {"recorded": body}

            return await run_idempotent(
                session, request=request, key=key, subject="tester", operation=operation
            )

    app: FastAPI = create_app(
        ServiceSettings(service_name="idem", log_json=False), title="t", routers=[router]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def item_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(tally.TallyItem)) or 0)


async def test_same_key_twice_writes_once_and_replays_the_response(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    again = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert await item_count(sessions) == 1
    assert await tally.unpublished(sessions.kw["bind"]) == 1


async def test_same_key_with_another_request_is_refused_naming_the_header(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    other = await client.post("/items", json={"key": "a", "seq": 2}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await item_count(sessions) == 1


async def test_without_a_key_every_request_writes(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.post("/items", json={"key": "a", "seq": 1})
    await client.post("/items", json={"key": "a", "seq": 1})
    assert await item_count(sessions) == 2


def test_cursor_round_trip_and_malformed_cursor_names_the_field() -> None:
    assert decode_cursor(encode_cursor(["2026-01-01", 42])) == ["2026-01-01", 42]
    assert decode_cursor(None) is None
    for bad in ["!!!", encode_cursor([])[:-1] + "#", "eyJhIjoxfQ"]:  # the last is {"a":1}
        with pytest.raises(InvalidInput) as raised:
            decode_cursor(bad)
        assert raised.value.errors[0].field == "query.cursor"


def test_page_of_cuts_the_extra_row_into_a_cursor() -> None:
    rows = [1, 2, 3]
    assert page_of(rows, 2, lambda r: [r]) == ([1, 2], encode_cursor([2]))
    assert page_of(rows[:2], 2, lambda r: [r]) == ([1, 2], None)
