"""Alembic support shared by every service's ``migrations/`` package.

A service's ``migrations/env.py`` is just ``run_env(<its MetaData>)``; its first revision
calls :func:`create_platform_tables`. The audit log (:func:`create_audit_table`) is a branch
of its own in every service (label ``audit``, revision ``audit0001``, no parent), so it never
competes with a service's numbered chain. :func:`upgrade` runs the migrations to ``heads``
(every branch's newest revision) programmatically (from the app at start-up, from
``python -m shared.migrate <service>``, from tests).
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from shared.db import create_engine
from shared.tables import platform_metadata


def alembic_config(service: str, database_url: str) -> Config:
    """An Alembic config for ``<service>/migrations`` against ``database_url``."""
    config = Config()
    config.set_main_option("script_location", f"{service}:migrations")
    config.attributes["database_url"] = database_url
    return config


def upgrade(service: str, database_url: str, revision: str = "heads") -> None:
    """Migrate a service's database to every branch's newest revision (blocking; call via
    ``asyncio.to_thread`` from async code)."""
    command.upgrade(alembic_config(service, database_url), revision)


def run_env(service_metadata: MetaData) -> None:
    """Body of a service's ``env.py``: run migrations online (async engine) or offline (SQL)."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL: pass it via shared.migrations.alembic_config")
    target: list[MetaData] = [service_metadata, platform_metadata()]
    options: dict[str, Any] = {
        "target_metadata": target,
        "render_as_batch": url.startswith("sqlite"),
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()

    async def run_online() -> None:
        engine = create_engine(url, pooled=False)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run_online())


def create_platform_tables() -> None:
    """Create the outbox, inbox and relay lease tables (first revision of every service)."""
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    op.create_table(
        "relay_lease",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_relay_lease"),
    )


def drop_platform_tables() -> None:
    """Undo :func:`create_platform_tables`."""
    op.drop_table("relay_lease")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")


def create_idempotency_table() -> None:
    """Create the table behind ``Idempotency-Key`` (:mod:`shared.idempotency`)."""
    op.create_table(
        "idempotency_record",
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", "key", name="pk_idempotency_record"),
    )


def drop_idempotency_table() -> None:
    """Undo :func:`create_idempotency_table`."""
    op.drop_table("idempotency_record")


_AUDIT_APPEND_ONLY_POSTGRESQL = (
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
)
_AUDIT_APPEND_ONLY_SQLITE = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
    """,
)


def create_audit_table() -> None:
    """Create the audit log (:mod:`shared.audit`) with triggers that refuse every UPDATE and
    DELETE (and, on PostgreSQL, TRUNCATE) of its rows."""
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("resource_type", sa.String(60), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("area_path", sa.String(400), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_area_path", "audit_log", ["area_path"])
    op.create_index("ix_audit_log_resource", "audit_log", ["resource_type", "resource_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _AUDIT_APPEND_ONLY_POSTGRESQL if postgresql else _AUDIT_APPEND_ONLY_SQLITE:
        op.execute(statement)


def drop_audit_table() -> None:
    """Undo :func:`create_audit_table`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
