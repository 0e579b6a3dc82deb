"""Fixtures of the registry's tests: the service on a fresh PostgreSQL database and the run's
broker, sessions on such a database migrated (for use cases called without HTTP), a
platform-wide writer token, and a small area tree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.app import create_app
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.service import bearer, running_service


@pytest.fixture
def settings(fresh_postgres_url: str, kafka_bootstrap: str) -> Settings:
    """The registry's settings on a database of the test's own and the run's broker."""
    return Settings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )


@pytest.fixture
async def sessions(fresh_postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's own PostgreSQL database, migrated to the newest revision."""
    await asyncio.to_thread(upgrade, "registry", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running registry (migrated, relay started)."""
    async with running_service(create_app, settings) as client:
        yield client


@pytest.fixture
def writer(settings: Settings) -> dict[str, str]:
    """A token for the whole platform with ``registry:read`` and ``registry:write``."""
    return bearer(settings, "registry:read", "registry:write")


@pytest.fixture
async def tree(client: httpx.AsyncClient, settings: Settings) -> None:
    """c1 → d1 → s1 → m1, m2; c1 → d2 → s2 → m3."""
    headers = bearer(settings, "registry:read", "registry:write")
    for area_id, level, parent in [
        ("c1", "city", None),
        ("d1", "district", "c1"),
        ("d2", "district", "c1"),
        ("s1", "street", "d1"),
        ("s2", "street", "d2"),
        ("m1", "community", "s1"),
        ("m2", "community", "s1"),
        ("m3", "community", "s2"),
    ]:
        body = {
            "id": area_id,
            "level": level,
            "name": f"Area {area_id}",
            "parent_id": parent,
            "valid_from": "2005-01-01",
        }
        response = await client.post("/areas", json=body, headers=headers)
        assert response.status_code == 201, response.text
