"""Areas (city, district, street, community).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("household_count", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_area"),
    )
    op.create_index("ix_area_level", "area", ["level"])
    op.create_index("ix_area_parent_id", "area", ["parent_id"])
    op.create_index("ix_area_path", "area", ["path"])


def downgrade() -> None:
    op.drop_table("area")
