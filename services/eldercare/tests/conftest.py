"""Fixtures of the eldercare tests: a migrated PostgreSQL database of the test's own with its
session factory, and the service running on it with the run's broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare.app import create_app
from eldercare.settings import Settings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
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
async def sessions(fresh_postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's database, migrated to the newest revision."""
    await asyncio.to_thread(upgrade, "eldercare", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running service."""
    async with running_service(create_app, settings) as client:
        yield client


@pytest.fixture
def staff(settings: Settings) -> dict[str, str]:
    """A platform-wide token with ``eldercare:read`` and ``eldercare:write``."""
    return bearer(settings, "eldercare:read", "eldercare:write")
