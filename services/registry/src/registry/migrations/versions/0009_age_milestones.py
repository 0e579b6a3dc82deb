"""Age milestones: one row per (resident, age) published, and the job's high-water date.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "age_milestone",
        sa.Column("resident_id", sa.String(36), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", "age", name="pk_age_milestone"),
    )
    op.create_table(
        "age_milestone_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scanned_through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_age_milestone_scan"),
    )


def downgrade() -> None:
    op.drop_table("age_milestone_scan")
    op.drop_table("age_milestone")
