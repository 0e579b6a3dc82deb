"""The platform's own tables, created in every service's database by its first migration.

- ``outbox``: events written in the business transaction, waiting for the relay;
- ``inbox``: ``(consumer, event_id)`` of every event a consumer has applied, for
  de-duplication in the same transaction as the effect;
- ``relay_lease``: which relay instance may publish (one per service at a time);
- ``idempotency_record``: writes done under an ``Idempotency-Key`` and their responses;
- ``audit_log``: who read or changed personal data (:mod:`shared.audit`), append-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
OutboxId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxRecord(Base):
    """One event waiting to be (or already) published, in commit order per aggregate."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(OutboxId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    partition_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text, doc="The CloudEvent, structured-mode JSON.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )


class InboxRecord(Base):
    """An event a consumer has applied; its primary key makes a second application a no-op."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RelayLease(Base):
    """The relay that currently publishes this service's outbox, until ``expires_at``."""

    __tablename__ = "relay_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class IdempotencyRecord(Base):
    """A write done under an ``Idempotency-Key``, with its response (:mod:`shared.idempotency`)."""

    __tablename__ = "idempotency_record"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    """One read or change of personal data: who (the token's subject), what (a resource's
    type and id, never an id number), where (the resource's area path), when and within which
    request (correlation id). Rows are never updated or deleted: the migration
    (:func:`shared.migrations.create_audit_table`) installs triggers refusing both."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(OutboxId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    resource_type: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str] = mapped_column(String(200))
    area_path: Mapped[str] = mapped_column(String(400))
    correlation_id: Mapped[str | None] = mapped_column(String(128), default=None)

    __table_args__ = (
        Index("ix_audit_log_area_path", "area_path"),
        Index("ix_audit_log_resource", "resource_type", "resource_id"),
    )


def platform_metadata() -> MetaData:
    """The MetaData holding the platform tables (for migrations and tests)."""
    return Base.metadata
