"""Fixtures of the employment service's tests: the service on a fresh PostgreSQL database and
the run's broker, tokens, and registry facts fed to it as registry events through the broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from employment.app import create_app
from employment.settings import Settings
from employment.testing import Registry
from shared.testing.service import bearer, running_service


@pytest.fixture
def settings(fresh_postgres_url: str, kafka_bootstrap: str) -> Settings:
    """The service's settings on a database of the test's own and the run's broker."""
    return Settings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running service (migrated, relay and consumer started)."""
    async with running_service(create_app, settings) as client:
        yield client


@pytest.fixture
def staff(settings: Settings) -> dict[str, str]:
    """A platform-wide token that reads and writes employment."""
    return bearer(settings, "employment:read", "employment:write")


@pytest.fixture
async def registry(client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str) -> Registry:
    """A city of the test's own, its areas already known to the running service."""
    assert settings.database_url is not None
    city = Registry(f"t{uuid.uuid4().hex[:6]}", kafka_bootstrap, settings.database_url)
    await city.areas()
    return city


Post = Callable[..., Awaitable[dict[str, object]]]


@pytest.fixture
def post(client: httpx.AsyncClient, staff: dict[str, str]) -> Post:
    """POST a body with a fresh Idempotency-Key; asserts the status; the JSON answer."""

    async def send(
        path: str,
        body: dict[str, object],
        *,
        expect: int = 201,
        headers: dict[str, str] | None = None,
    ) -> dict[str, object]:
        response = await client.post(
            path,
            json=body,
            headers={**(headers or staff), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == expect, response.text
        answer: dict[str, object] = response.json()
        return answer

    return send
