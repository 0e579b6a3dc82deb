"""Every service's Alembic migrations build exactly the schema its models declare, on SQLite
and on PostgreSQL, and downgrade back to nothing."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from shared.db import create_engine
from shared.migrations import alembic_config, upgrade
from shared.tables import platform_metadata
from shared.testing.postgres import create_database, drop_database

SERVICES = ["registry", "casework", "employment", "eldercare", "metrics"]
pytestmark = pytest.mark.integration


def _diff(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def run_on(url: str, fn: Any) -> Any:
    engine = create_engine(url, pooled=False)
    async with engine.connect() as connection:
        result = await connection.run_sync(fn)
    await engine.dispose()
    return result


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migrations_match_models_and_downgrade(
    service: str, backend: str, tmp_path: Path
) -> None:
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        if backend == "sqlite"
        else create_database(f"shequ_mig_{service}")
    )
    try:
        await asyncio.to_thread(upgrade, service, url)
        service_metadata = importlib.import_module(f"{service}.adapters.tables").Base.metadata
        combined = MetaData()
        for metadata in (service_metadata, platform_metadata()):
            for table in metadata.tables.values():
                table.to_metadata(combined)
        assert await run_on(url, lambda c: _diff(c, combined)) == []

        await asyncio.to_thread(command.downgrade, alembic_config(service, url), "base")
        assert await run_on(url, _tables) <= {"alembic_version"}
    finally:
        if backend == "postgresql":
            drop_database(url)
