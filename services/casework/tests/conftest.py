"""Fixtures of casework's tests: the service on a fresh PostgreSQL database and the run's
broker, tokens, and residents made known to casework through its registry-event handler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from casework.app import create_app
from casework.consumers import apply
from casework.settings import Settings
from shared.contracts import CONTRACTS
from shared.contracts.registry import ResidentRegistered
from shared.db import create_engine, session_factory
from shared.testing.service import bearer, running_service

PATH = ["c1", "d1", "s1", "m1"]
OTHER_PATH = ["c1", "d2", "s2", "m3"]

Remember = Callable[..., Awaitable[None]]


@pytest.fixture
def settings(fresh_postgres_url: str, kafka_bootstrap: str) -> Settings:
    """Casework's settings on a database of the test's own and the run's broker."""
    return Settings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        consumer_enabled=False,
        tracking_max_failures=3,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running casework service (migrated, catalogue seeded)."""
    async with running_service(create_app, settings) as client:
        yield client


@pytest.fixture
def clerk(settings: Settings) -> dict[str, str]:
    """A platform-wide token reading and writing cases."""
    return bearer(settings, "casework:read", "casework:write")


@pytest.fixture
def admin(settings: Settings) -> dict[str, str]:
    """A casework admin token."""
    return bearer(settings, "casework:read", "casework:admin")


@pytest.fixture
def remember(settings: Settings) -> Remember:
    """Make a resident known to casework as a ``resident.registered`` event would."""

    async def remember(
        resident_id: str, *, birth_year: int = 1980, path: list[str] = PATH, **changes: Any
    ) -> None:
        payload = ResidentRegistered(
            **{
                "resident_id": resident_id,
                "household_id": f"h-{resident_id}",
                "community_id": path[-1],
                "path": path,
                "sex": "female",
                "birth_year": birth_year,
                "age_band": "40-49",
                "registration": "registered",
                "employment_status": "laid_off",
                "disabled": False,
                "flags": [],
                "version": 1,
                **changes,
            }
        )
        event = CONTRACTS.new_event(payload, aggregate_id=resident_id)
        engine = create_engine(settings.resolved_database_url(), pooled=False)
        try:
            async with session_factory(engine)() as session, session.begin():
                await apply(session, event, payload)
        finally:
            await engine.dispose()

    return remember
