"""A fresh PostgreSQL database per test session on the local server (trust auth)."""

from __future__ import annotations

import os
import subprocess
import uuid

from shared.testing import unit_guard

ADMIN_DSN = os.environ.get("SHEQU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", ADMIN_DSN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def create_database(prefix: str = "shequ_test") -> str:
    """Create an empty database and return its ``postgresql+asyncpg://`` URL."""
    unit_guard.refuse("PostgreSQL")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _psql(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database`, closing leftover connections."""
    name = url.rsplit("/", 1)[1]
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_connections(url: str) -> None:
    """End every connection to the database of ``url``, as a PostgreSQL restart does."""
    name = url.rsplit("/", 1)[1]
    _psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
