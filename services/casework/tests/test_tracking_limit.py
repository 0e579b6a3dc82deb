"""The tracking rate limit kept in the database: the counter itself on SQLite and PostgreSQL
(limit, Retry-After, windows per address and per number, expiry, parallel guesses, purge),
and the service: two instances on one database share the limit, a restart keeps it, and the
window expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from casework.adapters.attempts import TrackingAttemptRow
from casework.app import create_app
from casework.settings import Settings
from casework.tracking import AttemptLimiter, TooManyAttempts, subjects
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.service import running_service

pytestmark = pytest.mark.integration

Remember = Callable[..., Awaitable[None]]
CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[AttemptLimiter]:
    """A limiter of 3 attempts in 15 minutes on a migrated casework database, on a hand clock."""
    url = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"
    )
    await asyncio.to_thread(upgrade, "casework", url)
    engine = create_engine(url, pooled=False)
    try:
        yield AttemptLimiter(session_factory(engine), 3, 900.0, clock=Clock())
    finally:
        await engine.dispose()


async def stored(limiter: AttemptLimiter) -> dict[str, int]:
    async with limiter.sessions() as session:
        rows = await session.scalars(select(TrackingAttemptRow))
        return {row.subject: row.attempts for row in rows}


async def refused(limiter: AttemptLimiter, *keys: str) -> int:
    """The Retry-After of a refused attempt (fails when the attempt is let through)."""
    with pytest.raises(TooManyAttempts) as refusal:
        await limiter.count(*keys)
    return int(refusal.value.headers["Retry-After"])


async def test_limit_per_address_and_per_number_with_retry_after(
    limiter: AttemptLimiter,
) -> None:
    clock = limiter.clock
    assert isinstance(clock, Clock)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # one number from three addresses
        await limiter.count(*subjects(address, "N1"))
        clock.now += timedelta(minutes=1)
    assert await refused(limiter, *subjects("10.0.0.4", "N1")) == 900 - 180
    assert (await stored(limiter))["number:N1"] == 3  # the refused attempt was given back
    await limiter.count(*subjects("10.0.0.4", "N2"))  # that address may try another number

    for number in ("N3", "N4"):  # one address, three numbers
        await limiter.count(*subjects("10.0.0.4", number))
    assert await refused(limiter, *subjects("10.0.0.4", "N5")) == 900
    assert (await stored(limiter))["number:N5"] == 0


async def test_given_back_attempts_and_the_window_expire(limiter: AttemptLimiter) -> None:
    clock = limiter.clock
    assert isinstance(clock, Clock)
    keys = subjects("10.0.0.1", "N1")
    right = await limiter.count(*keys)
    await limiter.give_back(right)  # a right code is not counted
    for _ in range(3):
        await limiter.count(*keys)
    assert await refused(limiter, *keys) == 900
    clock.now += timedelta(seconds=899)
    assert await refused(limiter, *keys) == 1
    clock.now += timedelta(seconds=1)  # the window (from the first attempt) is over
    counted = await limiter.count(*keys)
    assert {one.attempts for one in counted} == {1}
    assert {one.window_start for one in counted} == {clock.now}


async def test_parallel_guesses_cannot_pass_the_limit_together(limiter: AttemptLimiter) -> None:
    async def attempt() -> bool:
        try:
            await limiter.count(*subjects("10.0.0.1", "N1"))
        except TooManyAttempts:
            return False
        return True

    passed = await asyncio.gather(*(attempt() for _ in range(12)))
    assert sum(passed) == 3
    assert await stored(limiter) == {"address:10.0.0.1": 3, "number:N1": 3}


async def test_purge_deletes_only_windows_that_are_over(limiter: AttemptLimiter) -> None:
    clock = limiter.clock
    assert isinstance(clock, Clock)
    await limiter.count(*subjects("10.0.0.1", "N1"))
    clock.now += timedelta(minutes=10)
    await limiter.count(*subjects("10.0.0.2", "N2"))
    clock.now += timedelta(minutes=5)
    assert await limiter.purge() == 2  # the first attempt's address and number
    assert set(await stored(limiter)) == {"address:10.0.0.2", "number:N2"}


# -- the service ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Casework's test settings (conftest), on SQLite or on their PostgreSQL database."""
    if request.param == "postgresql":
        return settings
    return settings.model_copy(update={"database_url": request.getfixturevalue("sqlite_url")})


async def tracked_pair(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, resident: str
) -> dict[str, str]:
    await remember(resident)
    body = {"resident_id": resident, "matters": [CARD]}
    visit = await client.post("/visits", json=body, headers=clerk)
    assert visit.status_code == 201, visit.text
    case: dict[str, Any] = visit.json()["cases"][0]
    return {"number": case["number"], "code": case["verification_code"]}


async def wrong(client: httpx.AsyncClient, pair: dict[str, str]) -> None:
    answer = await client.post("/tracking", json={**pair, "code": "WRONG234"})
    assert answer.status_code == 404, answer.text


@pytest.mark.publishes
async def test_two_instances_share_the_limit_and_a_restart_keeps_it(
    settings: Settings, clerk: dict[str, str], remember: Remember
) -> None:
    async with (
        running_service(create_app, settings) as first,
        running_service(create_app, settings) as second,
    ):
        pair = await tracked_pair(first, clerk, remember, "r-t1")
        assert (await second.post("/tracking", json=pair)).status_code == 200
        await wrong(first, pair)
        await wrong(second, pair)
        await wrong(first, pair)  # three wrong pairs (the limit), split over two instances
        for instance in (first, second):
            blocked = await instance.post("/tracking", json=pair)
            assert blocked.status_code == 429, blocked.text
            assert 0 < int(blocked.headers["retry-after"]) <= 900
    async with running_service(create_app, settings) as restarted:
        blocked = await restarted.post("/tracking", json=pair)
        assert blocked.status_code == 429, blocked.text


@pytest.mark.publishes
async def test_the_window_expires_and_is_purged(
    settings: Settings, clerk: dict[str, str], remember: Remember
) -> None:
    clock = Clock()
    clock.now = datetime.now(UTC)
    limiters: list[AttemptLimiter] = []

    def on_hand_clock(settings: Settings) -> FastAPI:
        app = create_app(settings)
        app.state.tracking_limiter.clock = clock
        limiters.append(app.state.tracking_limiter)
        return app

    async with running_service(on_hand_clock, settings) as client:
        pair = await tracked_pair(client, clerk, remember, "r-t2")
        for _ in range(3):
            await wrong(client, pair)
        assert (await client.post("/tracking", json=pair)).status_code == 429
        clock.now += timedelta(seconds=settings.tracking_window_s)
        assert (await client.post("/tracking", json=pair)).status_code == 200
        clock.now += timedelta(seconds=settings.tracking_window_s)
        assert await limiters[0].purge() == 2
        assert await stored(limiters[0]) == {}
