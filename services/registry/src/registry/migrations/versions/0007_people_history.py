"""History of households and residents: one row per version, valid from a day.

Existing households and residents get their current state as a first version, valid from
their registration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX_OPS = {"community_path": "varchar_pattern_ops"}


def upgrade() -> None:
    op.create_table(
        "household_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("community_path", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_household_history"),
        sa.UniqueConstraint("household_id", "version", name="uq_household_history_version"),
    )
    op.create_index(
        "ix_household_history_community_path",
        "household_history",
        ["community_path"],
        postgresql_ops=PREFIX_OPS,
    )
    op.create_table(
        "resident_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("household_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("community_path", sa.String(200), nullable=False),
        sa.Column("registration", sa.String(16), nullable=False),
        sa.Column("permit_expires_on", sa.Date(), nullable=True),
        sa.Column("employment_status", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("flags_mask", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resident_history"),
        sa.UniqueConstraint("resident_id", "version", name="uq_resident_history_version"),
    )
    op.create_index(
        "ix_resident_history_community_path",
        "resident_history",
        ["community_path"],
        postgresql_ops=PREFIX_OPS,
    )
    op.execute(
        "INSERT INTO household_history (household_id, version, change, valid_from, valid_to,"
        " community_id, community_path, address, recorded_at)"
        " SELECT id, version, 'registered', registered_on, NULL, community_id, community_path,"
        " address, updated_at FROM household"
    )
    op.execute(
        "INSERT INTO resident_history (resident_id, version, change, valid_from, valid_to,"
        " household_id, community_id, community_path, registration, permit_expires_on,"
        " employment_status, disabled, flags_mask, status, ended_on, recorded_at)"
        " SELECT id, version, 'registered', registered_on, NULL, household_id, community_id,"
        " community_path, registration, permit_expires_on, employment_status, disabled,"
        " flags_mask, status, ended_on, updated_at FROM resident"
    )


def downgrade() -> None:
    op.drop_table("resident_history")
    op.drop_table("household_history")
