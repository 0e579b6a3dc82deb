"""Households and residents.

A resident's national id number is stored encrypted with a keyed hash (unique: duplicate
detection and exact look-up). Indexes serve the list and count filters: area subtree (prefix
match on the community path; the pattern operator class lets PostgreSQL use the index for
``LIKE 'prefix%'``), status, registration, employment, birth date (age ranges) and permit
expiry (the permit scan).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX_OPS = "varchar_pattern_ops"


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("community_path", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["area.id"], name="fk_household_community_id_area"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_household"),
    )
    op.create_index("ix_household_community_id", "household", ["community_id"])
    op.create_index(
        "ix_household_community_path",
        "household",
        ["community_path"],
        postgresql_ops={"community_path": PREFIX_OPS},
    )
    op.create_table(
        "resident",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("national_id_encrypted", sa.String(200), nullable=False),
        sa.Column("national_id_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("household_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(32), nullable=False),
        sa.Column("community_path", sa.String(200), nullable=False),
        sa.Column("registration", sa.String(16), nullable=False),
        sa.Column("permit_expires_on", sa.Date(), nullable=True),
        sa.Column("permit_warned_for", sa.Date(), nullable=True),
        sa.Column("employment_status", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("flags_mask", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name="fk_resident_household_id_household"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resident"),
        sa.UniqueConstraint("national_id_hash", name="uq_resident_national_id_hash"),
    )
    op.create_index("ix_resident_birth_date", "resident", ["birth_date"])
    op.create_index("ix_resident_household_id", "resident", ["household_id"])
    op.create_index("ix_resident_community_id", "resident", ["community_id"])
    op.create_index(
        "ix_resident_community_path",
        "resident",
        ["community_path"],
        postgresql_ops={"community_path": PREFIX_OPS},
    )
    op.create_index("ix_resident_registration", "resident", ["registration"])
    op.create_index("ix_resident_permit_expires_on", "resident", ["permit_expires_on"])
    op.create_index("ix_resident_employment_status", "resident", ["employment_status"])
    op.create_index("ix_resident_status", "resident", ["status"])


def downgrade() -> None:
    op.drop_table("resident")
    op.drop_table("household")
