"""The write pattern: command runner (transaction, Idempotency-Key), unit of work (domain events
→ outbox in the same transaction), field errors located by the HTTP layer, sealed replays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import idempotency
from shared.auth import Principal, install_auth, mint_token
from shared.commands import CommandRunner, command_runner
from shared.db import create_engine, session_factory
from shared.errors import FieldError, InvalidInput
from shared.http import create_app
from shared.settings import ServiceSettings
from shared.tables import IdempotencyRecord, OutboxRecord
from shared.testing import tally
from shared.unit_of_work import UnitOfWork, translator, unit_of_work

SETTINGS = ServiceSettings(service_name="tally", environment="development", log_json=False)
Counter = Annotated[CommandRunner, Depends(command_runner("registry:write"))]


class CountIn(BaseModel):
    key: str
    seq: int


async def check_ages(uow: UnitOfWork, *, principal: Principal, min_age: int) -> None:
    """A rule that names its fields plainly; the HTTP layer locates them."""
    raise InvalidInput(
        "bad", errors=[FieldError("min_age", "too low"), FieldError("birth_date", "future")]
    )


async def count_times(
    uow: UnitOfWork, *, principal: Principal, key: str, times: int
) -> dict[str, object]:
    """Records ``times`` events (none, or several)."""
    uow.record(*(tally.Tallied(key=key, seq=seq) for seq in range(times)))
    return {"key": key, "events": times}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def sessions(
    request: pytest.FixtureRequest, sqlite_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Each test on SQLite and on PostgreSQL (the key's claim is a statement of each's own)."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    await tally.create_schema(engine)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter()

    @router.post("/items", status_code=201)
    async def count_item(body: CountIn, command: Counter) -> JSONResponse:
        return await command.run(tally.count, status=201, key=body.key, seq=body.seq)

    @router.post("/batch", status_code=201)
    async def count_batch(body: CountIn, command: Counter) -> JSONResponse:
        return await command.run(count_times, status=201, key=body.key, times=body.seq)

    @router.post("/ages")
    async def ages(command: Counter, min_age: Annotated[int, Query()] = 0) -> JSONResponse:
        return await command.run(check_ages, min_age=min_age)

    app: FastAPI = create_app(SETTINGS, title="t", routers=[router])
    app.state.runtime = SimpleNamespace(
        sessions=sessions, translate=tally.translate, contracts=tally.TALLY
    )
    install_auth(app, SETTINGS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def bearer(
    scopes: str = "registry:write", area: str | None = None, subject: str = "clerk"
) -> dict[str, str]:
    token = mint_token(SETTINGS, subject=subject, scopes=scopes, area=area)
    return {"Authorization": f"Bearer {token}"}


async def count_of(sessions: async_sessionmaker[AsyncSession], table: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_command_commits_its_change_and_its_events_together(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await client.post("/items", json={"key": "a", "seq": 1}, headers=bearer())
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"key": "a", "seq": 1, "by": "clerk"}
    assert await count_of(sessions, tally.TallyItem) == 1
    async with sessions() as session:
        row = (await session.scalars(select(OutboxRecord))).one()
    assert row.event_type.endswith("tally.counter.recorded.v1")
    assert row.partition_key == "a"


async def test_a_refused_command_leaves_neither_change_nor_event(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await client.post("/items", json={"key": "a", "seq": -1}, headers=bearer())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body.seq"
    assert await count_of(sessions, tally.TallyItem) == 0
    assert await count_of(sessions, OutboxRecord) == 0


async def test_rules_name_fields_and_the_http_layer_adds_their_location(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/ages?min_age=3", headers=bearer())
    assert answer.status_code == 422
    fields = [error["field"] for error in answer.json()["errors"]]
    assert fields == ["query.min_age", "body.birth_date"]


async def test_a_command_needs_its_scope(client: httpx.AsyncClient) -> None:
    assert (await client.post("/items", json={"key": "a", "seq": 1})).status_code == 401
    refused = await client.post(
        "/items", json={"key": "a", "seq": 1}, headers=bearer("registry:read")
    )
    assert refused.status_code == 403


async def test_a_retry_with_the_key_writes_once_and_replays(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**bearer(), "Idempotency-Key": "k-1"}
    first = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    again = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers[idempotency.REPLAYED_HEADER] == "true"
    assert await count_of(sessions, tally.TallyItem) == 1
    assert await count_of(sessions, OutboxRecord) == 1
    other = await client.post("/items", json={"key": "a", "seq": 2}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"


@pytest.mark.parametrize("events", [0, 1, 3])
async def test_the_response_is_stored_whatever_the_number_of_events(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], events: int
) -> None:
    """The key's record is settled with the command's one outbox row (one statement on
    PostgreSQL), or alone, or before several rows."""
    headers = {**bearer(), "Idempotency-Key": f"events-{events}"}
    first = await client.post("/batch", json={"key": "a", "seq": events}, headers=headers)
    again = await client.post("/batch", json={"key": "a", "seq": events}, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() == {"key": "a", "events": events}
    assert again.headers[idempotency.REPLAYED_HEADER] == "true"
    assert await count_of(sessions, OutboxRecord) == events
    async with sessions() as session:
        record = (await session.scalars(select(IdempotencyRecord))).one()
    assert record.status_code == 201


async def test_without_a_key_every_request_writes(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        answer = await client.post("/items", json={"key": "a", "seq": 1}, headers=bearer())
        assert answer.status_code == 201
    assert await count_of(sessions, tally.TallyItem) == 2
    assert await count_of(sessions, OutboxRecord) == 2


async def test_the_stored_response_holds_neither_the_key_nor_the_body_in_clear(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**bearer(), "Idempotency-Key": "secret-key-42"}
    await client.post("/items", json={"key": "Zhang San", "seq": 7}, headers=headers)
    async with sessions() as session:
        record = (await session.scalars(select(IdempotencyRecord))).one()
    assert record.key == idempotency.stored_key("clerk", "secret-key-42")
    assert "secret-key-42" not in record.key
    assert "Zhang" not in record.response_body
    with pytest.raises(ValueError, match="not sealed for this key"):
        idempotency.unseal("clerk", "another-key", record.response_body)
    assert idempotency.unseal("clerk", "secret-key-42", record.response_body)["body"]["seq"] == 7


async def test_a_replay_is_refused_to_a_token_without_the_scopes_or_the_area(
    client: httpx.AsyncClient,
) -> None:
    payload = {"key": "a", "seq": 1}
    first = bearer("registry:write pii:read", area="140502")
    made = await client.post("/items", json=payload, headers={**first, "Idempotency-Key": "k"})
    assert made.status_code == 201
    fewer = bearer("registry:write", area="140502")
    assert (
        await client.post("/items", json=payload, headers={**fewer, "Idempotency-Key": "k"})
    ).status_code == 403
    elsewhere = bearer("registry:write pii:read", area="140581")
    assert (
        await client.post("/items", json=payload, headers={**elsewhere, "Idempotency-Key": "k"})
    ).status_code == 404
    same = await client.post("/items", json=payload, headers={**first, "Idempotency-Key": "k"})
    assert same.status_code == 201
    assert same.headers[idempotency.REPLAYED_HEADER] == "true"


async def test_expired_records_are_purged(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for key in ("old", "new"):
        headers = {**bearer(), "Idempotency-Key": key}
        await client.post("/items", json={"key": key, "seq": 1}, headers=headers)
    async with sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == idempotency.stored_key("clerk", "old"))
            .values(created_at=datetime.now(UTC) - idempotency.RETENTION - timedelta(minutes=1))
        )
    async with sessions() as session, session.begin():
        assert await idempotency.purge_expired(session) == 1
    assert await count_of(sessions, IdempotencyRecord) == 1


async def test_a_key_whose_record_expired_can_be_used_again(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**bearer(), "Idempotency-Key": "late"}
    first = await client.post("/items", json={"key": "late", "seq": 1}, headers=headers)
    assert first.status_code == 201
    other = {"key": "late", "seq": 2}
    assert (await client.post("/items", json=other, headers=headers)).status_code == 422
    async with sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord).values(
                created_at=datetime.now(UTC) - idempotency.RETENTION - timedelta(minutes=1)
            )
        )
    again = await client.post("/items", json=other, headers=headers)
    assert again.status_code == 201
    assert idempotency.REPLAYED_HEADER not in again.headers
    assert await count_of(sessions, tally.TallyItem) == 2
    assert await count_of(sessions, IdempotencyRecord) == 1


async def test_a_key_stored_in_clear_by_an_earlier_version_is_not_run_again(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {**bearer(), "Idempotency-Key": "old-key"}
    first = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    async with sessions() as session, session.begin():  # as the earlier version stored it
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == idempotency.stored_key("clerk", "old-key"))
            .values(key="old-key", response_body=first.text)
        )
    again = await client.post("/items", json={"key": "a", "seq": 1}, headers=headers)
    assert again.status_code == 409
    assert "earlier version" in again.json()["detail"]
    assert await count_of(sessions, tally.TallyItem) == 1


@pytest.mark.integration
async def test_a_concurrent_twin_waits_for_the_first_request_and_replays_it(
    fresh_postgres_url: str,
) -> None:
    """The twin's claim waits on the first request's uncommitted record, then replays it: the
    use case runs once."""
    engine = create_engine(fresh_postgres_url)
    await tally.create_schema(engine)
    sessions = session_factory(engine)
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    async def slow_count(
        uow: UnitOfWork, *, principal: Principal, key: str, seq: int
    ) -> dict[str, object]:
        runs.append(seq)
        started.set()
        await release.wait()
        return await tally.count(uow, principal=principal, key=key, seq=seq)

    router = APIRouter()

    @router.post("/slow", status_code=201)
    async def slow(body: CountIn, command: Counter) -> JSONResponse:
        return await command.run(slow_count, status=201, key=body.key, seq=body.seq)

    app: FastAPI = create_app(SETTINGS, title="t", routers=[router])
    app.state.runtime = SimpleNamespace(
        sessions=sessions, translate=tally.translate, contracts=tally.TALLY
    )
    install_auth(app, SETTINGS)
    headers = {**bearer(), "Idempotency-Key": "twin"}
    payload = {"key": "a", "seq": 1}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.post("/slow", json=payload, headers=headers))
            await started.wait()
            twin = asyncio.create_task(client.post("/slow", json=payload, headers=headers))
            other = asyncio.create_task(
                client.post("/slow", json={"key": "a", "seq": 2}, headers=headers)
            )
            await asyncio.sleep(0.3)
            assert not twin.done()  # blocked on the claimed key
            assert not other.done()
            release.set()
            made, replayed, refused = await first, await twin, await other
        assert made.status_code == replayed.status_code == 201, replayed.text
        assert replayed.json() == made.json()
        assert replayed.headers[idempotency.REPLAYED_HEADER] == "true"
        assert refused.status_code == 422
        assert runs == [1]
        assert await count_of(sessions, tally.TallyItem) == 1
        assert await count_of(sessions, OutboxRecord) == 1
    finally:
        await engine.dispose()


@dataclass
class Counted:
    """An aggregate that records its events in ``events``."""

    key: str
    events: list[Any] = field(default_factory=list)

    def count(self, seq: int) -> None:
        self.events.append(tally.Tallied(key=self.key, seq=seq))


async def test_the_unit_of_work_collects_tracked_and_recorded_events_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    aggregate = Counted("b")
    async with unit_of_work(sessions, translate=tally.translate, contracts=tally.TALLY) as uow:
        uow.record(tally.Tallied(key="a", seq=1))
        uow.track(aggregate)
        aggregate.count(2)
        aggregate.count(3)
    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))
    assert [(row.partition_key, row.payload.count('"seq":')) for row in rows] == [
        ("a", 1),
        ("b", 1),
        ("b", 1),
    ]
    assert aggregate.events == []


async def test_a_failing_unit_of_work_publishes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def fail() -> None:
        async with unit_of_work(sessions, translate=tally.translate, contracts=tally.TALLY) as uow:
            uow.record(tally.Tallied(key="a", seq=1))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail()
    assert await count_of(sessions, OutboxRecord) == 0


def test_a_translator_combines_tables_and_refuses_unknown_events() -> None:
    translate = translator({tally.Tallied: tally.translate})
    assert translate(tally.Tallied(key="k", seq=1)) == (tally.TallyRecorded(key="k", seq=1), "k")
    with pytest.raises(TypeError, match="no integration event for Counted"):
        translate(Counted("x"))
    with pytest.raises(ValueError, match="translated twice"):
        translator({tally.Tallied: tally.translate}, {tally.Tallied: tally.translate})
